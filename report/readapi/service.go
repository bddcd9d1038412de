package readapi

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

// Service answers the read API from the report code path, reusing each report for CacheFor so
// that dashboards polling the same range share one computation.
type Service struct {
	Source   Source
	Currency string
	Now      func() time.Time
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

// Period is the range of calendar dates from..to (inclusive) in loc as a period: from the first
// instant of from to the first instant of the day after to.
func Period(fromY int, fromM time.Month, fromD, toY int, toM time.Month, toD int, loc *time.Location) report.Period {
	return report.Period{Kind: report.Daily, Start: report.StartOfDay(fromY, fromM, fromD, loc), End: report.StartOfDay(toY, toM, toD+1, loc)}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

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

// Stats answers GET /v1/stats for p.
func (s *Service) Stats(ctx context.Context, p report.Period) (Stats, error) {
	rep, at, err := s.report(ctx, p, DefaultLimit)
	if err != nil {
		return Stats{}, err
	}
	return StatsOf(rep, at), nil
}

// Daily answers GET /v1/daily for p.
func (s *Service) Daily(ctx context.Context, p report.Period) (Daily, error) {
	rep, at, err := s.report(ctx, p, DefaultLimit)
	if err != nil {
		return Daily{}, err
	}
	return DailyOf(rep, at), nil
}

// Top answers GET /v1/top for p: dim's top limit values (1 to MaxLimit), then "other".
func (s *Service) Top(ctx context.Context, p report.Period, dim report.Dimension, limit int) (Top, error) {
	if limit < 1 || limit > MaxLimit {
		return Top{}, fmt.Errorf("limit %d: want 1 to %d", limit, MaxLimit)
	}
	rep, at, err := s.report(ctx, p, limit)
	if err != nil {
		return Top{}, err
	}
	return TopOf(rep, dim, limit, at), nil
}

// Alerts answers GET /v1/alerts for p: the ledger entries of the budget periods overlapping it.
func (s *Service) Alerts(ctx context.Context, p report.Period) (Alerts, error) {
	at := s.now()
	entries, err := s.Source.Alerts(ctx, p.Start, p.End)
	if err != nil {
		return Alerts{}, err
	}
	return AlertsOf(p, s.Currency, entries, at), nil
}
