package pgquery_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// Ensures the landing page's headline read (MonthToDate) states what the report of the month
// states: the cost and requests to date, the comparison with the same elapsed days of the month
// before (where the data begin included) and each day's cost of the trend, with days not
// aggregated yet, events pending since the last refresh and a day in progress.
func TestMonthToDateAgreesWithTheReport(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	r := rand.New(rand.NewPCG(51, 52))
	// The data begin at 10:00 on 12 September (mid-month), and run to 10 November 15:00.
	begin := time.Date(2026, 9, 12, 10, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(r, begin, 59, 3000)...)
	asOf := time.Date(2026, 11, 10, 15, 0, 0, 0, seoul)
	// The runs have aggregated September and October (as the daily runs keep the 60 days
	// before theirs), then more events arrive for October and for today (pending marks).
	oct := report.PeriodContaining(report.Monthly, asOf.AddDate(0, -1, 0), seoul)
	if _, err := st.Refresh(ctx, oct.Start.AddDate(0, -1, 0), oct.End, 0); err != nil {
		t.Fatal(err)
	}
	late := randomEvents(r, oct.Start.AddDate(0, 0, 3), 2, 40)
	today := randomEvents(r, time.Date(2026, 11, 10, 0, 0, 0, 0, seoul), 1, 40)
	for i := range today {
		today[i].at = time.Date(2026, 11, 10, 0, 0, 0, 0, seoul).Add(time.Duration(r.IntN(15*3600)) * time.Second)
	}
	insert(t, pool, append(late, today...)...)

	for _, at := range []time.Time{asOf, time.Date(2026, 10, 20, 9, 30, 0, 0, seoul), time.Date(2026, 9, 25, 0, 0, 0, 0, seoul)} {
		m := report.PeriodContaining(report.Monthly, at, seoul)
		got, err := st.MonthToDate(ctx, m, at)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.Report(ctx, report.ReportRequest{Period: m, TopN: 1, AsOf: at, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		// The report counts the whole month; to date is up to at.
		raw := rawSpend(t, pool, report.Scope{}, m.Start, at)
		if !got.Totals.Cost.Equal(raw.Cost) || got.Totals.Requests != raw.Events {
			t.Errorf("as of %s: month to date %s / %d; raw %s / %d", at, got.Totals.Cost, got.Totals.Requests, raw.Cost, raw.Events)
		}
		gp, wp := got.Previous, want.Previous
		if gp.Start != wp.Start || gp.End != wp.End || gp.Partial != wp.Partial || !gp.DataBegin.Equal(wp.DataBegin) || gp.NoData != wp.NoData ||
			!gp.Totals.Cost.Equal(wp.Totals.Cost) || gp.Totals.Requests != wp.Totals.Requests {
			t.Errorf("as of %s: comparison %+v; the report's %+v", at, *gp, *wp)
		}
		if a, b := report.VersusOf(m, gp), report.VersusOf(m, wp); a != b {
			t.Errorf("as of %s: compared %+v; the report %+v", at, a, b)
		}
		if got.AsOf != want.AsOf {
			t.Errorf("as of %s: AsOf %s; the report's %s", at, got.AsOf, want.AsOf)
		}
		// Each day of the trend: what the report's days say, the day in progress up to at.
		days := map[time.Time]report.Totals{}
		for _, d := range append(append([]report.Day(nil), want.History...), want.Series...) {
			days[d.Date] = d.Totals
		}
		if len(got.Series) != report.SeriesDays {
			t.Errorf("as of %s: %d days of trend, want %d", at, len(got.Series), report.SeriesDays)
		}
		for _, d := range got.Series {
			end := d.Date.AddDate(0, 0, 1)
			if end.After(at) {
				end = at // the day in progress, up to the run
			}
			raw := rawSpend(t, pool, report.Scope{}, d.Date, end)
			if !d.Cost.Equal(raw.Cost) || d.Requests != raw.Events {
				t.Errorf("as of %s: day %s costs %s / %d; raw %s / %d", at, d.Date.Format(time.DateOnly), d.Cost, d.Requests, raw.Cost, raw.Events)
			}
			if w, ok := days[d.Date]; ok && end.Equal(d.Date.AddDate(0, 0, 1)) && (!d.Cost.Equal(w.Cost) || d.Requests != w.Requests) {
				t.Errorf("as of %s: day %s costs %s / %d; the report %s / %d", at, d.Date.Format(time.DateOnly), d.Cost, d.Requests, w.Cost, w.Requests)
			}
		}
	}
}
