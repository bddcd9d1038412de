package pgquery_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var seoul = mustLoc("Asia/Seoul")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

type ev struct {
	at       time.Time
	service  string
	model    string
	user     string
	org      string
	cost     string // "" = unpriced
	ms       int64  // 0 = no duration
	fail     bool
	cacheHit bool
}

func insert(t *testing.T, pool *pgxpool.Pool, evs ...ev) {
	t.Helper()
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	var rows []collect.Row
	for i, e := range evs {
		r := collect.Row{
			EventID: fmt.Sprintf("%s-%d-%d", t.Name(), e.at.UnixNano(), i), OccurredAt: e.at,
			Service: e.service, Model: e.model, Provider: "anthropic",
			InputTokens: 500, OutputTokens: 300, CacheReadTokens: 100, ReasoningTokens: 10,
			CostSource: "local", Success: !e.fail, CacheHit: e.cacheHit, UserID: e.user, OrgID: e.org,
		}
		if r.Service == "" {
			r.Service = "QA_CHAT"
		}
		if r.Model == "" {
			r.Model = "claude-sonnet-4-5"
		}
		if e.cost != "" {
			r.Cost = decimal.NewNullDecimal(decimal.RequireFromString(e.cost))
		} else {
			r.CostSource = "none"
		}
		r.DurationMS = math.MinInt64 // absent
		if e.ms > 0 {
			r.DurationMS = e.ms
		}
		rows = append(rows, r)
	}
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatalf("insert events: %v", err)
	}
}

func sumRows(rows []report.Row) report.Totals {
	var t report.Totals
	for _, r := range rows {
		t.Add(r.Totals)
	}
	return t
}

// Ensures every breakdown sums exactly (cost to the last unit, every count, the histogram) to
// the period total, with a top N small enough that an "other" row is needed.
func TestBreakdownsSumToTotal(t *testing.T) {
	pool := pgtest.Pool(t)
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	var evs []ev
	costs := []string{"0.0000001", "7.80", "1234.5678901", "0.33", "12", "0.0000003"}
	for i := 0; i < 60; i++ {
		e := ev{
			at:      day.Add(time.Duration(i) * 23 * time.Minute),
			service: fmt.Sprintf("SVC_%d", i%7), model: fmt.Sprintf("model-%d", i%5),
			user: fmt.Sprintf("user-%d", i%13), org: fmt.Sprintf("org-%d", i%4),
			cost: costs[i%len(costs)], ms: int64(1 + i*37), fail: i%9 == 0, cacheHit: i%4 == 0,
		}
		if i%11 == 0 {
			e.cost = "" // unpriced
			e.user = ""
		}
		evs = append(evs, e)
	}
	insert(t, pool, evs...)
	st := pgquery.New(pool)
	rep, err := st.Report(context.Background(), report.ReportRequest{Period: report.PeriodContaining(report.Daily, day, seoul), TopN: 3})
	if err != nil {
		t.Fatal(err)
	}
	// The expected total, computed here from the test data.
	want := decimal.Zero
	var unpriced, fails int64
	for _, e := range evs {
		if e.cost == "" {
			unpriced++
		} else {
			want = want.Add(decimal.RequireFromString(e.cost))
		}
		if e.fail {
			fails++
		}
	}
	if !rep.Totals.Cost.Equal(want) || rep.Totals.Requests != 60 || rep.Totals.Unpriced != unpriced || rep.Totals.Failures != fails {
		t.Fatalf("totals: cost %s requests %d unpriced %d failures %d; want %s 60 %d %d", rep.Totals.Cost, rep.Totals.Requests, rep.Totals.Unpriced, rep.Totals.Failures, want, unpriced, fails)
	}
	for _, dim := range report.Dimensions {
		rows := rep.Breakdowns[dim]
		got := sumRows(rows)
		if !got.Cost.Equal(rep.Totals.Cost) || got.Requests != rep.Totals.Requests || got.Failures != rep.Totals.Failures ||
			got.CacheHits != rep.Totals.CacheHits || got.Unpriced != rep.Totals.Unpriced || got.InputTokens != rep.Totals.InputTokens ||
			got.LatencySumMS != rep.Totals.LatencySumMS || got.Latency.Count() != rep.Totals.Latency.Count() {
			t.Errorf("%s: rows sum to %+v; total %+v", dim, got, rep.Totals)
		}
		if dim != report.ByProvider && (len(rows) != 4 || !rows[3].Other) {
			t.Errorf("%s: %d rows (last other=%v); want top 3 + other", dim, len(rows), rows[len(rows)-1].Other)
		}
		for i := 1; i < len(rows)-1; i++ {
			if rows[i].Cost.GreaterThan(rows[i-1].Cost) {
				t.Errorf("%s: row %d costs more than row %d", dim, i, i-1)
			}
		}
	}
	if n := len(rep.Series); n != 30 {
		t.Fatalf("series has %d days; want 30", n)
	}
	lastDay := rep.Series[29]
	if !lastDay.Date.Equal(day) || !lastDay.Cost.Equal(want) {
		t.Errorf("last series day %s cost %s; want %s %s", lastDay.Date, lastDay.Cost, day, want)
	}
	if rep.Totals.Latency.Count() != 60 || rep.Totals.LatencyCount != 60 {
		t.Errorf("latency count %d / %d; want 60", rep.Totals.Latency.Count(), rep.Totals.LatencyCount)
	}
}
