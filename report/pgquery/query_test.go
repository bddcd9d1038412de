package pgquery_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
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
	endpoint string
	tags     map[string]string
}

func insert(t *testing.T, pool *pgxpool.Pool, evs ...ev) {
	t.Helper()
	var rows []collect.Row
	for _, e := range evs {
		r := eventtest.Row(eventtest.ID(t), e.at)
		r.Service, r.Model = cmp.Or(e.service, r.Service), cmp.Or(e.model, r.Model)
		r.UserID, r.OrgID = e.user, e.org
		r.CacheReadTokens, r.ReasoningTokens = 100, 10
		r.Success, r.CacheHit = !e.fail, e.cacheHit
		eventtest.Price(&r, e.cost)
		if e.ms > 0 {
			r.DurationMS = e.ms
		}
		r.Endpoint = e.endpoint
		if e.tags != nil {
			b, err := json.Marshal(e.tags)
			if err != nil {
				t.Fatal(err)
			}
			r.Tags = b
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
}

// partlyAggregated stores n random events (randomEvents, from the seed) over the 20 days from 1
// October 2026 in Seoul, and aggregates the first days of them: reads then take those days from
// the aggregates and the others from the events. It returns the store and the first day.
func partlyAggregated(t *testing.T, seed uint64, n, days int) (*pgxpool.Pool, *pgquery.Store, time.Time) {
	t.Helper()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(seed, seed+1)), first, 20, n)...)
	if _, err := st.Report(context.Background(), report.ReportRequest{Period: report.PeriodContaining(report.Daily, first.AddDate(0, 0, days-1), seoul)}); err != nil {
		t.Fatal(err)
	}
	return pool, st, first
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

// Ensures SQL puts durations in the documented buckets (exact powers of two included) and the
// percentiles read back from the stored histogram.
func TestLatencyBuckets(t *testing.T) {
	pool := pgtest.Pool(t)
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	want := map[int64]int{1: 1, 2: 65, 3: 102, 4: 129, 8: 193, 1000: 638, 1024: 641, 60000: 1016}
	var evs []ev
	for ms := range want {
		evs = append(evs, ev{at: day.Add(time.Hour), cost: "1", ms: ms})
	}
	evs = append(evs, ev{at: day.Add(time.Hour), cost: "1"}) // no duration
	insert(t, pool, evs...)
	rep, err := pgquery.New(pool).Report(context.Background(), report.ReportRequest{Period: report.PeriodContaining(report.Daily, day, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Totals.Latency
	for ms, b := range want {
		if gb := report.HistogramBucket(ms); gb != b {
			t.Errorf("%d ms: Go bucket %d, want %d", ms, gb, b)
		}
		if b >= len(h) || h[b] != 1 {
			t.Errorf("%d ms not in bucket %d: %v", ms, b, h)
		}
	}
	if h.Count() != int64(len(want)) || rep.Totals.LatencyCount != int64(len(want)) || rep.Totals.Requests != int64(len(want))+1 {
		t.Errorf("counts: histogram %d, latency %d, requests %d", h.Count(), rep.Totals.LatencyCount, rep.Totals.Requests)
	}
	if p50 := h.Percentile(0.5); p50 != 4 { // nearest rank: the 4th of 8 values, 4 ms (bucket 129, middle 4.02)
		t.Errorf("p50 %d ms", p50)
	}
}

// Ensures p50, p95 and p99 of the total and of every service, user and org, merged over several
// days from the stored histograms, are within 2 % of percentile_disc over the raw events (the
// quarter-octave histogram before migration 00008 was up to 10 % off and gave every user the
// same percentiles).
func TestLatencyPercentilesMatchExact(t *testing.T) {
	pool := pgtest.Pool(t)
	start := time.Date(2026, 10, 5, 0, 0, 0, 0, seoul)
	var evs []ev
	// A skewed spread per user (log-normal-like, from 3 ms to minutes), over a week.
	for i := 0; i < 6000; i++ {
		u := i % 12
		base := 40.0 * math.Pow(1.35, float64(u))
		x := math.Mod(float64(i)*0.6180339887, 1)
		ms := int64(base*math.Exp(2.2*(x-0.5)*(1+x))) + int64(i%7)
		evs = append(evs, ev{at: start.Add(time.Duration(i) * 97 * time.Second), service: fmt.Sprintf("SVC_%d", u%3),
			user: fmt.Sprintf("user-%02d", u), org: fmt.Sprintf("org-%d", u%5), cost: "1", ms: max(ms, 1)})
	}
	insert(t, pool, evs...)
	week := report.PeriodContaining(report.Weekly, start, seoul)
	rep, err := pgquery.New(pool).Report(context.Background(), report.ReportRequest{Period: week, TopN: 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exact := func(col, key string, q float64) int64 {
		t.Helper()
		var v int64
		where := "TRUE"
		if col != "" {
			where = col + " = $4"
		}
		args := []any{q, week.Start, week.End}
		if col != "" {
			args = append(args, key)
		}
		if err := pool.QueryRow(ctx, `SELECT percentile_disc($1::float8) WITHIN GROUP (ORDER BY duration_ms)
			FROM events WHERE occurred_at >= $2 AND occurred_at < $3 AND duration_ms IS NOT NULL AND `+where, args...).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	check := func(name string, h report.Histogram, col, key string) {
		for _, q := range []float64{0.5, 0.95, 0.99} {
			got, want := h.Percentile(q), exact(col, key, q)
			if d := math.Abs(float64(got-want)) / float64(want); d > 0.02 {
				t.Errorf("%s p%g: %d ms, exact %d ms (%.1f %% off)", name, q*100, got, want, d*100)
			}
		}
	}
	check("total", rep.Totals.Latency, "", "")
	distinct := map[int64]bool{}
	for dim, col := range map[report.Dimension]string{report.ByService: "service", report.ByUser: "user_id", report.ByOrg: "org_id"} {
		rows := rep.Breakdowns[dim]
		if len(rows) == 0 {
			t.Fatalf("no %s rows", dim)
		}
		for _, r := range rows {
			check(string(dim)+" "+r.Key, r.Latency, col, r.Key)
			if dim == report.ByUser {
				distinct[r.Latency.Percentile(0.5)] = true
			}
		}
	}
	if len(distinct) != 12 {
		t.Errorf("users have %d distinct p50s; want 12", len(distinct))
	}
	// The workbook's chargeback rows (every user and org) have theirs too, past the top N.
	rep, err = pgquery.New(pool).Report(ctx, report.ReportRequest{Period: week, TopN: 2})
	if err != nil {
		t.Fatal(err)
	}
	for dim, col := range map[report.Dimension]string{report.ByUser: "user_id", report.ByOrg: "org_id"} {
		if n, want := len(rep.All[dim]), map[report.Dimension]int{report.ByUser: 12, report.ByOrg: 5}[dim]; n != want {
			t.Fatalf("every %s: %d rows; want %d", dim, n, want)
		}
		for _, r := range rep.All[dim] {
			check("every "+string(dim)+" "+r.Key, r.Latency, col, r.Key)
		}
	}
}

// Ensures the daily series of a 31-day month covers the whole month, and of a day the 30 days
// up to it, zero days included.
func TestSeriesLength(t *testing.T) {
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	insert(t, pool, ev{at: time.Date(2026, 10, 1, 3, 0, 0, 0, seoul), cost: "5"})
	oct := report.PeriodContaining(report.Monthly, time.Date(2026, 10, 1, 0, 0, 0, 0, seoul), seoul)
	rep, err := st.Report(context.Background(), report.ReportRequest{Period: oct})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Series) != 31 || !rep.Series[0].Date.Equal(oct.Start) || !rep.Series[0].Cost.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("october series: %d days from %v", len(rep.Series), rep.Series[0].Date)
	}
	rep, err = st.Report(context.Background(), report.ReportRequest{Period: report.PeriodContaining(report.Daily, oct.End.Add(-time.Hour), seoul)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Series) != 30 || rep.Series[0].Date.Format(time.DateOnly) != "2026-10-02" || !rep.Series[0].Cost.IsZero() {
		t.Fatalf("daily series: %d days from %v", len(rep.Series), rep.Series[0].Date)
	}
}

// Ensures retention finishes a DETACH … CONCURRENTLY that was interrupted half-way (the
// partition left "detach pending", which blocks every other concurrent detach) before the other
// old partitions, and that the reports of its days keep their numbers. On Citus, whose detach is
// a plain one, the interrupted retention is one whose drop failed after the detach.
func TestRetentionFinishesInterruptedDetach(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	jan := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	insert(t, pool, ev{at: jan, cost: "7.5"})
	st := pgquery.New(pool)
	day := report.PeriodContaining(report.Daily, jan, time.UTC)
	before, err := st.Report(ctx, report.ReportRequest{Period: day})
	if err != nil {
		t.Fatal(err)
	}

	if pgtest.Citus() {
		citusRetentionInterrupted(t, pool, st)
	} else {
		detachPending(t, pool)
	}

	dropped, err := st.DropPartitionsBefore(ctx, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.UTC, false)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range dropped {
		found = found || d == "events_2026_01"
	}
	var exists bool
	pool.QueryRow(ctx, "SELECT to_regclass('events_2026_01') IS NOT NULL").Scan(&exists)
	if !found || exists {
		t.Fatalf("dropped %v; events_2026_01 exists: %v", dropped, exists)
	}
	after, err := st.Report(ctx, report.ReportRequest{Period: day})
	if err != nil {
		t.Fatal(err)
	}
	if !after.Totals.Cost.Equal(before.Totals.Cost) || after.Totals.Requests != 1 {
		t.Errorf("after retention: %s over %d; before %s", after.Totals.Cost, after.Totals.Requests, before.Totals.Cost)
	}
}

// detachPending leaves events_2026_01 "detach pending": an open transaction that has read
// January keeps DETACH … CONCURRENTLY waiting in its second phase; a statement timeout
// interrupts it there.
func detachPending(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := holder.QueryRow(ctx, "SELECT count(*) FROM events WHERE occurred_at >= '2026-01-01' AND occurred_at < '2026-02-01'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Exec(ctx, "SET statement_timeout = '1s'")
	_, err = conn.Exec(ctx, "ALTER TABLE events DETACH PARTITION events_2026_01 CONCURRENTLY")
	conn.Exec(ctx, "RESET statement_timeout")
	conn.Release()
	if err == nil {
		t.Fatal("detach was not interrupted")
	}
	holder.Rollback(ctx)
	var pending bool
	if err := pool.QueryRow(ctx, "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2026_01'::regclass").Scan(&pending); err != nil || !pending {
		t.Fatalf("partition not left detach-pending: %v %v", pending, err)
	}
}

// citusRetentionInterrupted interrupts the retention of January on Citus, which detaches with a
// plain DETACH (no CONCURRENTLY there): the drop fails after the detach (a view depends on the
// partition), and the partition must be left attached with its events, so that the next run,
// which lists the partitions of events, finds and drops it.
func citusRetentionInterrupted(t *testing.T, pool *pgxpool.Pool, st *pgquery.Store) {
	t.Helper()
	ctx := context.Background()
	// A view of the coordinator only (Citus does not propagate it to the workers).
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SET LOCAL citus.enable_ddl_propagation = off; CREATE VIEW january AS SELECT event_id FROM events_2026_01")
		return err
	})
	if err != nil {
		t.Fatalf("create a view of January: %v", err)
	}
	if _, err := st.DropPartitionsBefore(ctx, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.UTC, false); err == nil {
		t.Fatal("retention dropped a partition a view depends on")
	}
	var attached bool
	var n int
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'events_2026_01'::regclass
		AND inhparent = 'events'::regclass)`).Scan(&attached); err != nil {
		t.Fatalf("read the partitions: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE occurred_at < '2026-02-01'`).Scan(&n); err != nil {
		t.Fatalf("read January: %v", err)
	}
	if !attached || n != 1 {
		t.Fatalf("after an interrupted retention: events_2026_01 attached %v, %d events of January; want attached, 1", attached, n)
	}
	if _, err := pool.Exec(ctx, "DROP VIEW january"); err != nil {
		t.Fatalf("drop the view: %v", err)
	}
}
