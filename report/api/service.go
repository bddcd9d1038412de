package api

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aispend/aispend/report"
)

// Source is what the read API reads (report/pgquery). Report is the batch job's own: it brings
// the daily aggregates of the range up to date (only days changed since they were last built)
// and reads the rollups.
type Source interface {
	Report(ctx context.Context, req report.ReportRequest) (*report.Report, error)
	Alerts(ctx context.Context, from, to time.Time) ([]report.LedgerEntry, error)
}

// Service answers the read API (it is collect's ReadSource) from the report code path, reusing
// each report for CacheFor so that dashboards polling the same range share one computation.
type Service struct {
	Source   Source
	Currency string
	Location *time.Location // the report time zone: a query's dates are days there
	Now      func() time.Time
	// TagKeys are the configured tag keys (reports.tag_keys): GET /v1/top answers dimension
	// tag:<key> for these only; the Source's reports break spend down by the same keys.
	TagKeys []string
	// CacheFor is how long a computed report is reused; 0 computes every time.
	CacheFor time.Duration
	// Timeout bounds one computation, which the requests waiting for it share (default
	// report.DefaultComputeTimeout).
	Timeout time.Duration

	reports report.Memo[reportKey, *report.Report]
}

type reportKey struct {
	start, end int64
	topN       int
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// period is q's dates in the report time zone (UTC when Location is not set, as collect reads
// the dates).
func (s *Service) period(q Query) report.Period { return q.Period(cmp.Or(s.Location, time.UTC)) }

// report is the report of p with topN rows per breakdown, computed at most once per CacheFor,
// and the instant it was computed.
func (s *Service) report(ctx context.Context, p report.Period, topN int) (*report.Report, time.Time, error) {
	k := reportKey{p.Start.UnixNano(), p.End.UnixNano(), topN}
	return s.reports.Get(ctx, k, s.now(), s.CacheFor, func(ctx context.Context) (*report.Report, error) {
		return s.compute(ctx, p, topN)
	})
}

// compute is the report of p with topN rows per breakdown, without its event snapshot.
func (s *Service) compute(ctx context.Context, p report.Period, topN int) (*report.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(s.Timeout, report.DefaultComputeTimeout))
	defer cancel()
	// The series is exactly the range's days: a page's 30 days before a short range would only
	// cost aggregates nobody asked for.
	rep, err := s.Source.Report(ctx, report.ReportRequest{Period: p, TopN: topN, SeriesDays: max(1, len(p.Days()))})
	if err != nil {
		return nil, fmt.Errorf("report %s to %s: %w", p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly), err)
	}
	rep.Currency = s.Currency
	// The API lists no events: release the event snapshot (and its connection) at once.
	if rep.Events != nil {
		rep.Events.Close()
		rep.Events = nil
	}
	return rep, nil
}

// Stats answers GET /v1/stats for q.
func (s *Service) Stats(ctx context.Context, q Query) (Stats, error) {
	rep, at, err := s.report(ctx, s.period(q), DefaultLimit)
	if err != nil {
		return Stats{}, err
	}
	return StatsOf(rep, at), nil
}

// Daily answers GET /v1/daily for q.
func (s *Service) Daily(ctx context.Context, q Query) (Daily, error) {
	rep, at, err := s.report(ctx, s.period(q), DefaultLimit)
	if err != nil {
		return Daily{}, err
	}
	return DailyOf(rep, at), nil
}

// Top answers GET /v1/top for q: the top q.Limit (1 to MaxLimit) values of q.Dimension, then
// "other".
func (s *Service) Top(ctx context.Context, q Query) (Top, error) {
	dim, ok := DimensionOf(q.Dimension, s.TagKeys)
	if !ok {
		return Top{}, fmt.Errorf("dimension %q: want one of %v", q.Dimension, DimensionNames(s.TagKeys))
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return Top{}, fmt.Errorf("limit %d: want 1 to %d", q.Limit, MaxLimit)
	}
	rep, at, err := s.report(ctx, s.period(q), q.Limit)
	if err != nil {
		return Top{}, err
	}
	return TopOf(rep, dim, q.Limit, at), nil
}

// Alerts answers GET /v1/alerts for q: the ledger entries of the budget periods overlapping it.
func (s *Service) Alerts(ctx context.Context, q Query) (Alerts, error) {
	at := s.now()
	p := s.period(q)
	entries, err := s.Source.Alerts(ctx, p.Start, p.End)
	if err != nil {
		return Alerts{}, err
	}
	return AlertsOf(p, s.Currency, entries, at), nil
}

// BudgetService answers GET /v1/budgets (it is collect's BudgetSource) with the batch job's own
// budget code: every budget's current period from Board, stated as report.json states it.
type BudgetService struct {
	Board *report.BudgetBoard
	// Entities states envelope budgets' entities (envelope.go); nil: none are stated.
	Entities *report.EntityBoard
	Currency string
}

// Budgets is the body of GET /v1/budgets now.
func (b BudgetService) Budgets(ctx context.Context) (Budgets, error) {
	asOf, sts, err := b.Board.Statuses(ctx)
	if err != nil {
		return Budgets{}, err
	}
	out := BudgetsOf(asOf, b.Currency, sts)
	if b.Entities != nil {
		if err := withEntities(ctx, b.Entities, out.Budgets); err != nil {
			return Budgets{}, err
		}
	}
	return out, nil
}
