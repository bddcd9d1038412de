package pgquery

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

// MonthToDate is the landing page's headline of month as of asOf: its cost to date (Totals),
// the same elapsed days of the month before with where the data begin (Previous, as a report
// compares), and the cost of each of the report.SeriesDays days up to asOf's (Series). Every
// figure is a budget spend (BudgetSpends: the aggregates of current days, what is pending and
// the raw rest, in one snapshot), so it reads a few rollup rows and today's new events: no
// refresh, no breakdown, no latency, where a report of the month costs about as much as the
// monthly run and would be paid by every daily run. Where the data begin is read as a report
// reads it (data_begin.sql, from the aggregated days, which the runs keep current well past
// the month before).
func (s *Store) MonthToDate(ctx context.Context, month report.Period, asOf time.Time) (*report.Report, error) {
	loc := month.Start.Location()
	end := month.End
	if asOf.Before(end) {
		end = asOf
	}
	if end.Before(month.Start) {
		end = month.Start
	}
	cmp := comparison(month, asOf)
	qs := []report.SpendQuery{{Start: month.Start, End: end}, {Start: cmp.Start, End: cmp.End}}
	// The trend ends with the day of asOf's last instant: a run at midnight ends with the day
	// that has just ended.
	y, m, d := asOf.Add(-time.Nanosecond).In(loc).Date()
	var days []time.Time
	for i := report.SeriesDays - 1; i >= 0; i-- {
		day := report.StartOfDay(y, m, d-i, loc)
		next := report.StartOfDay(y, m, d-i+1, loc)
		if asOf.Before(next) {
			next = asOf
		}
		days = append(days, day)
		qs = append(qs, report.SpendQuery{Start: day, End: next})
	}
	sp, err := s.BudgetSpends(ctx, qs)
	if err != nil {
		return nil, fmt.Errorf("month to date: %w", err)
	}
	rep := &report.Report{Period: month, Totals: spendTotals(sp[0]), Previous: cmp}
	if asOf.Before(month.End) {
		rep.AsOf = asOf
	}
	cmp.Totals = spendTotals(sp[1])
	for i, day := range days {
		rep.Series = append(rep.Series, report.Day{Date: day, Totals: spendTotals(sp[2+i])})
	}
	err = s.readSnapshot(ctx, func(tx pgx.Tx) error { return dataBegin(ctx, tx, loc, cmp) })
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// spendTotals are the totals a spend states: cost, requests and unpriced requests.
func spendTotals(sp report.Spend) report.Totals {
	return report.Totals{Cost: sp.Cost, Requests: sp.Events, Unpriced: sp.Unpriced}
}
