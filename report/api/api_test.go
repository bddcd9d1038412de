package api

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

var seoul = func() *time.Location {
	l, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return l
}()

// sample is a two-day report whose series reaches back a day before the period, as a page's does.
func sample() *report.Report {
	p := Query{From: Date{2026, 10, 1}, To: Date{2026, 10, 2}}.Period(seoul)
	day := func(d int, cost string, n int64) report.Day {
		return report.Day{Date: report.StartOfDay(2026, 10, d, seoul), Totals: report.Totals{Requests: n, Cost: testkit.Dec(cost)}}
	}
	return &report.Report{
		Period: p, Currency: "KRW",
		Totals: report.Totals{Requests: 4, Failures: 1, CacheHits: 1, Unpriced: 1, Cost: testkit.Dec("7.80"), InputTokens: 500,
			LatencyCount: 2, LatencySumMS: 300, Latency: report.Histogram{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}},
		Breakdowns: map[report.Dimension][]report.Row{
			report.ByUser: {
				{Key: "u-1", Totals: report.Totals{Requests: 2, Cost: testkit.Dec("5.2")}},
				{Key: "", Totals: report.Totals{Requests: 1, Cost: testkit.Dec("2.6")}},
				{Other: true, Totals: report.Totals{Requests: 1}},
			},
		},
		Series: []report.Day{day(30, "99", 9), day(1, "3.9", 2), day(2, "3.90", 2)},
	}
}

// Ensures the JSON keeps money exact as decimal strings, labels "(none)" and "(other)", keeps
// only the period's days of a page's longer series, and states dates in the report time zone.
func TestBuilders(t *testing.T) {
	rep := sample()
	asOf := time.Date(2026, 10, 2, 12, 0, 0, 0, time.UTC) // 21:00 in Seoul: the range is in progress
	st := StatsOf(rep, asOf)
	if st.Totals.Cost != "7.8" || st.Totals.AvgCostPerRequest != "2.6" || st.Totals.SuccessRate != "75.00" ||
		st.Totals.CacheHitRate != "25.00" || st.Totals.Latency.Samples != 2 || st.Totals.Latency.MeanMS != 150 {
		t.Errorf("totals %+v", st.Totals)
	}
	if st.From != "2026-10-01" || st.To != "2026-10-02" || st.Timezone != "Asia/Seoul" || st.Complete ||
		st.Start.Format(time.RFC3339) != "2026-10-01T00:00:00+09:00" || st.End.Format(time.RFC3339) != "2026-10-03T00:00:00+09:00" ||
		st.AsOf.Format(time.RFC3339) != "2026-10-02T21:00:00+09:00" {
		t.Errorf("range %+v", st.Range)
	}
	if len(st.Services) != 0 || st.Services == nil {
		t.Errorf("an empty breakdown must be [], got %#v", st.Services)
	}
	top := TopOf(rep, report.ByUser, 2, asOf)
	if top.Dimension != "user" || len(top.Rows) != 3 || top.Rows[0].Share != "66.67" || top.Rows[1].Label != "(none)" ||
		!top.Rows[2].Other || top.Rows[2].Label != "(other)" || top.Rows[2].Cost != "0" {
		t.Errorf("top %+v", top)
	}
	d := DailyOf(rep, asOf)
	if len(d.Days) != 2 || d.Days[0].Date != "2026-10-01" || d.Days[1].Cost != "3.9" {
		t.Errorf("daily %+v", d.Days)
	}
	sent := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC)
	entry := report.LedgerEntry{
		Breach:     report.Breach{Budget: "daily-total", PeriodStart: rep.Period.Start.UTC(), Threshold: 80, Kind: report.Forecast, Severity: report.Warning},
		PeriodKind: report.Daily, PeriodEnd: report.StartOfDay(2026, 10, 2, seoul).UTC(), Spent: testkit.Dec("40000"), Amount: testkit.Dec("50000"),
		Projected: decimal.NewNullDecimal(testkit.Dec("61000.5")), Status: report.StatusSent, CreatedAt: sent, SentAt: &sent,
	}
	al := AlertsOf(rep.Period, "KRW", []report.LedgerEntry{entry}, asOf)
	b, _ := json.Marshal(al.Alerts[0])
	want := `{"budget":"daily-total","period":{"kind":"daily","label":"2026-10-01","start":"2026-10-01T00:00:00+09:00","end":"2026-10-02T00:00:00+09:00"},` +
		`"threshold":80,"severity":"WARNING","kind":"forecast","status":"sent","spent":"40000","amount":"50000","projected":"61000.5",` +
		`"attempts":0,"last_error":"","created_at":"2026-10-01T12:00:00+09:00","sent_at":"2026-10-01T12:00:00+09:00"}`
	if string(b) != want {
		t.Errorf("alert\n got %s\nwant %s", b, want)
	}
	doc := DocumentOf(rep, nil, asOf)
	if len(doc.Top) != len(report.Dimensions) || doc.Label != "2026-10-01" || doc.Alerts.Alerts == nil || doc.Budgets == nil {
		t.Errorf("document %+v", doc)
	}
}

type fakeSource struct {
	mu     sync.Mutex
	calls  []report.ReportRequest
	closed int // event snapshots closed
	err    error
}

func (f *fakeSource) Report(_ context.Context, req report.ReportRequest) (*report.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if f.err != nil {
		return nil, f.err
	}
	rep := sample()
	rep.Period = req.Period
	rep.Events = &fakeSnapshot{src: f}
	return rep, nil
}

// fakeSnapshot counts the event snapshots left open.
type fakeSnapshot struct{ src *fakeSource }

func (s *fakeSnapshot) Events(context.Context, time.Time, time.Time, func(report.Event) error) error {
	return nil
}
func (s *fakeSnapshot) Close() {
	s.src.mu.Lock()
	s.src.closed++
	s.src.mu.Unlock()
}

func (f *fakeSource) Alerts(context.Context, time.Time, time.Time) ([]report.LedgerEntry, error) {
	return nil, nil
}

// Ensures one report serves every endpoint of a range for CacheFor, a new limit or range is a
// new report, a failure is not kept, and the series asked for is the range's own days.
func TestServiceCache(t *testing.T) {
	now := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	src := &fakeSource{}
	s := &Service{Source: src, Currency: "KRW", Location: seoul, CacheFor: 30 * time.Second, Now: func() time.Time { return now }}
	ctx := context.Background()
	p := Query{From: Date{2026, 10, 1}, To: Date{2026, 10, 3}}
	top := func(limit int) Query { q := p; q.Dimension, q.Limit = "user", limit; return q }
	if _, err := s.Stats(ctx, p); err != nil {
		t.Fatal(err)
	}
	s.Daily(ctx, p)
	s.Top(ctx, top(DefaultLimit))
	if len(src.calls) != 1 || src.calls[0].TopN != DefaultLimit || src.calls[0].SeriesDays != 3 || !src.calls[0].Period.Start.Equal(p.Period(seoul).Start) {
		t.Fatalf("calls %+v", src.calls)
	}
	s.Top(ctx, top(50))
	s.Stats(ctx, Query{From: Date{2026, 10, 1}, To: Date{2026, 10, 4}})
	if len(src.calls) != 3 || src.calls[1].TopN != 50 {
		t.Fatalf("new keys: calls %+v", src.calls)
	}
	now = now.Add(30 * time.Second)
	if st, _ := s.Stats(ctx, p); len(src.calls) != 4 || !st.AsOf.Equal(now) {
		t.Fatalf("after CacheFor: %d calls, as_of %s", len(src.calls), st.AsOf)
	}
	src.err = errors.New("database down")
	now = now.Add(time.Minute)
	if _, err := s.Stats(ctx, p); err == nil {
		t.Fatal("error not returned")
	}
	src.err = nil
	if _, err := s.Stats(ctx, p); err != nil || len(src.calls) != 6 {
		t.Fatalf("a failure was cached: %v, %d calls", err, len(src.calls))
	}
	if src.closed != 5 { // every successful computation's snapshot
		t.Errorf("%d event snapshots closed after 5 reports", src.closed)
	}
	if _, err := s.Top(ctx, top(MaxLimit+1)); err == nil {
		t.Error("limit above MaxLimit accepted")
	}
	if _, err := s.Top(ctx, Query{From: p.From, To: p.To, Dimension: "team", Limit: DefaultLimit}); err == nil {
		t.Error("unknown dimension accepted")
	}
}
