package pgquery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// randomEvents makes n events spread over the days [first, first+days) in loc, with times
// near midnight too, several services, models, users and orgs, some unpriced.
func randomEvents(r *rand.Rand, first time.Time, days, n int) []ev {
	costs := []string{"0.0000001", "7.80", "1234.5678901", "0.33", "12", "", "0.5"}
	out := make([]ev, n)
	for i := range out {
		at := first.Add(time.Duration(r.Int64N(int64(days) * int64(24*time.Hour))))
		if i%5 == 0 { // right around a midnight
			d := first.AddDate(0, 0, r.IntN(days))
			at = d.Add(time.Duration(r.IntN(7200)-3600) * time.Second)
		}
		out[i] = ev{
			at: at, service: fmt.Sprintf("SVC_%d", r.IntN(4)), model: fmt.Sprintf("model-%d", r.IntN(3)),
			user: fmt.Sprintf("user-%d", r.IntN(9)), org: fmt.Sprintf("org-%d", r.IntN(3)),
			cost: costs[r.IntN(len(costs))], ms: int64(r.IntN(5000)), fail: r.IntN(10) == 0,
		}
		// Endpoints and tags from i, not r, so that the other fields stay what they were: some
		// events without an endpoint, untagged, tagged with another key only, or an empty value.
		if i%4 != 0 {
			out[i].endpoint = fmt.Sprintf("/v1/ep-%d", i%3)
		}
		switch i % 5 {
		case 0:
		case 1:
			out[i].tags = map[string]string{"other": "x"}
		case 2:
			out[i].tags = map[string]string{"team": ""}
		default:
			out[i].tags = map[string]string{"team": fmt.Sprintf("team-%d", i%7), "project": fmt.Sprintf("p%d", i%2)}
		}
	}
	return out
}

// checkAggregates asserts that the aggregates of every day of [from, to) in loc whose events
// are stored equal what a rebuild from the events gives: the fine rows, and the rollups of
// every dimension.
func checkAggregates(t *testing.T, pool *pgxpool.Pool, loc *time.Location, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	const raw = `SELECT (occurred_at AT TIME ZONE $1)::date AS day, service, model, provider,
		coalesce(org_id, '') AS org_id, coalesce(user_id, '') AS user_id, count(*) AS requests,
		count(*) FILTER (WHERE cost IS NULL) AS unpriced, coalesce(sum(cost), 0) AS cost,
		sum(input_tokens) AS input_tokens, count(duration_ms) AS latency_count
		FROM events WHERE occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2, 3, 4, 5, 6`
	const fine = `SELECT day, service, model, provider, org_id, user_id, requests, unpriced, cost,
		input_tokens, latency_count
		FROM daily_aggregates WHERE tz = $1 AND day >= ($2 AT TIME ZONE $1)::date AND day < ($3 AT TIME ZONE $1)::date`
	for _, q := range []string{
		"(" + raw + ") EXCEPT (" + fine + ")",
		"(" + fine + ") EXCEPT (" + raw + ")",
	} {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM ("+q+") x", loc.String(), from, to).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("daily aggregates differ from the events in %d rows", n)
		}
	}
	for _, dim := range []string{"service", "model", "provider", "org_id", "user_id", "''"} {
		name := dim
		if dim == "''" {
			name = "total"
		}
		agg := fmt.Sprintf(`SELECT day, %s::text AS key, sum(requests)::bigint, sum(unpriced)::bigint, sum(cost),
			sum(input_tokens)::bigint, sum(latency_count)::bigint
			FROM daily_aggregates WHERE tz = $1 AND day >= ($2 AT TIME ZONE $1)::date AND day < ($3 AT TIME ZONE $1)::date GROUP BY 1, 2`, dim)
		roll := fmt.Sprintf(`SELECT day, key, requests, unpriced, cost, input_tokens, latency_count
			FROM daily_rollups WHERE tz = $1 AND dim = '%s' AND day >= ($2 AT TIME ZONE $1)::date AND day < ($3 AT TIME ZONE $1)::date`, name)
		var n int
		q := "SELECT count(*) FROM (((" + agg + ") EXCEPT (" + roll + ")) UNION ALL ((" + roll + ") EXCEPT (" + agg + "))) x"
		if err := pool.QueryRow(ctx, q, loc.String(), from, to).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("rollups of %s differ from the aggregates in %d rows", name, n)
		}
	}
}

// checkBreakdowns asserts that the chargeback breakdowns of every day of [from, to) in loc equal
// a GROUP BY over the events, by endpoint and by each of keys (key ” for none, an empty tag
// value counted as untagged): every column, cost exact.
func checkBreakdowns(t *testing.T, pool *pgxpool.Pool, loc *time.Location, from, to time.Time, keys []string) {
	t.Helper()
	ctx := context.Background()
	const sums = `count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE cache_hit),
		count(*) FILTER (WHERE cost IS NULL), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
		sum(cache_write_tokens), sum(reasoning_tokens), coalesce(sum(cost), 0), count(duration_ms),
		coalesce(sum(duration_ms), 0)`
	const cols = `day, key, requests, failures, cache_hits, unpriced, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, latency_count, latency_sum_ms`
	fields := map[string]string{"endpoint": "coalesce(endpoint, '')"}
	for _, k := range keys {
		fields["tag:"+k] = fmt.Sprintf("coalesce(tags ->> '%s', '')", k)
	}
	for dim, field := range fields {
		raw := fmt.Sprintf(`SELECT (occurred_at AT TIME ZONE $1)::date AS day, %s AS key, %s
			FROM events WHERE occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2`, field, sums)
		kept := fmt.Sprintf(`SELECT %s FROM daily_breakdowns WHERE tz = $1 AND dim = '%s'
			AND day >= ($2 AT TIME ZONE $1)::date AND day < ($3 AT TIME ZONE $1)::date`, cols, dim)
		var n, rows int
		q := "SELECT count(*) FROM (((" + raw + ") EXCEPT ALL (" + kept + ")) UNION ALL ((" + kept + ") EXCEPT ALL (" + raw + "))) x"
		if err := pool.QueryRow(ctx, q, loc.String(), from, to).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM ("+kept+") x", loc.String(), from, to).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if n != 0 || rows == 0 {
			t.Fatalf("breakdowns by %s differ from a GROUP BY over the events in %d rows (%d kept)", dim, n, rows)
		}
	}
}

// checkRebuildEqual asserts that the aggregates of the current days p's report reads, however
// they were kept up to date (rebuilds, added deltas), hold exactly what rebuilding every one of
// them from the events writes: every column of every fine row and rollup, histograms included.
func checkRebuildEqual(t *testing.T, pool *pgxpool.Pool, st *pgquery.Store, loc *time.Location, p report.Period) {
	t.Helper()
	ctx := context.Background()
	const aggCols = `tz, day, service, model, provider, org_id, user_id, requests, failures, cache_hits, unpriced,
		input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost,
		latency_count, latency_sum_ms, latency_buckets, latency_counts`
	const breakdownCols = `tz, day, dim, key, requests, failures, cache_hits, unpriced, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, latency_count, latency_sum_ms`
	const rollCols = `tz, day, dim, key, requests, failures, cache_hits, unpriced, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, latency_count, latency_sum_ms,
		latency_buckets, latency_counts`
	for _, s := range []string{
		"CREATE TABLE kept_aggregates AS SELECT " + aggCols + " FROM daily_aggregates WHERE tz = $1",
		"CREATE TABLE kept_rollups AS SELECT " + rollCols + " FROM daily_rollups WHERE tz = $1",
		"CREATE TABLE kept_days AS SELECT day FROM aggregate_days WHERE tz = $1",
		"CREATE TABLE kept_breakdowns AS SELECT " + breakdownCols + " FROM daily_breakdowns WHERE tz = $1",
		"DELETE FROM aggregate_days WHERE tz = $1",
	} {
		if _, err := pool.Exec(ctx, s, loc.String()); err != nil {
			t.Fatal(err)
		}
	}
	defer pool.Exec(ctx, "DROP TABLE kept_aggregates, kept_rollups, kept_days, kept_breakdowns")
	rep, err := st.Report(ctx, report.ReportRequest{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RefreshedDays) == 0 {
		t.Fatal("the check's run rebuilt no day")
	}
	for _, c := range []struct{ kept, table, cols string }{
		{"kept_aggregates", "daily_aggregates", aggCols},
		{"kept_rollups", "daily_rollups", rollCols},
		{"kept_breakdowns", "daily_breakdowns", breakdownCols},
	} {
		// The days that were current (kept up to date) and are now rebuilt.
		days := "tz = $1 AND day = ANY ($2::date[]) AND day IN (SELECT day FROM kept_days)"
		q := fmt.Sprintf(`SELECT count(*) FROM (
			((SELECT %[3]s FROM %[1]s WHERE %[4]s) EXCEPT ALL (SELECT %[3]s FROM %[2]s WHERE %[4]s))
			UNION ALL
			((SELECT %[3]s FROM %[2]s WHERE %[4]s) EXCEPT ALL (SELECT %[3]s FROM %[1]s WHERE %[4]s))) x`,
			c.kept, c.table, c.cols, days)
		var rebuilt []time.Time
		for _, d := range rep.RefreshedDays {
			y, m, dd := d.Date()
			rebuilt = append(rebuilt, time.Date(y, m, dd, 0, 0, 0, 0, time.UTC))
		}
		var n int
		if err := pool.QueryRow(ctx, q, loc.String(), rebuilt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			rows, _ := pool.Query(ctx, strings.Replace(q, "SELECT count(*) FROM", "SELECT x::text FROM", 1), loc.String(), rebuilt)
			for rows.Next() {
				var r string
				rows.Scan(&r)
				t.Log(r)
			}
			rows.Close()
			t.Fatalf("%s kept up to date differ from a rebuild in %d rows", c.table, n)
		}
	}
}

func dates(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.DateOnly)
	}
	sort.Strings(out)
	return out
}

// Ensures a run rebuilds exactly the days whose events changed since they were aggregated (late
// events, re-priced events, in any zone, also a half-hour one) and nothing else, and that the
// aggregates then equal a rebuild from the events.
func TestIncrementalRefresh(t *testing.T) {
	for _, loc := range []*time.Location{seoul, mustLoc("Asia/Kolkata")} {
		t.Run(loc.String(), func(t *testing.T) {
			ctx := context.Background()
			pool := pgtest.Pool(t)
			st := pgquery.New(pool)
			st.TagKeys = []string{"team", "project"}
			r := rand.New(rand.NewPCG(1, 2))
			first := time.Date(2026, 10, 1, 0, 0, 0, 0, loc)
			insert(t, pool, randomEvents(r, first, 12, 600)...)
			day12 := report.PeriodContaining(report.Daily, first.AddDate(0, 0, 11), loc)
			rep, err := st.Report(ctx, report.ReportRequest{Period: day12})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rep.RefreshedDays); got != 60 {
				t.Fatalf("first run rebuilt %d days; want the 30 of the series and the 30 before (its spike baseline)", got)
			}
			checkAggregates(t, pool, loc, day12.Start.AddDate(0, 0, -29), day12.End)
			checkBreakdowns(t, pool, loc, day12.Start.AddDate(0, 0, -29), day12.End, st.TagKeys)

			// Nothing changed: the same run rebuilds nothing.
			rep, err = st.Report(ctx, report.ReportRequest{Period: day12})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.RefreshedDays) != 0 {
				t.Fatalf("unchanged run rebuilt %v", dates(rep.RefreshedDays))
			}

			// Late events for three earlier days (one just before midnight), and a re-priced event.
			late := []ev{
				{at: first.AddDate(0, 0, 2).Add(5 * time.Hour), service: "LATE", cost: "1.25", ms: 10, endpoint: "/late",
					tags: map[string]string{"team": "late-team"}},
				{at: first.AddDate(0, 0, 5).Add(-time.Second), service: "LATE", cost: "2", ms: 20, tags: map[string]string{"project": "p1"}},
				{at: first.AddDate(0, 0, 9).Add(23 * time.Hour), service: "LATE", cost: "", ms: 30, endpoint: "/v1/ep-1"},
			}
			insert(t, pool, late...)
			var id string
			var at time.Time
			if err := pool.QueryRow(ctx, `SELECT event_id, occurred_at FROM events WHERE cost IS NULL AND service <> 'LATE'
				AND occurred_at >= $1 AND occurred_at < $2 LIMIT 1`, first.AddDate(0, 0, 7), first.AddDate(0, 0, 8)).Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			pgtest.ChangeEvents(t, pool, "UPDATE events SET cost = 99.5, cost_source = 'local' WHERE event_id = $1 AND occurred_at = $2", id, at)
			rep, err = st.Report(ctx, report.ReportRequest{Period: day12})
			if err != nil {
				t.Fatal(err)
			}
			// Changes are marked by UTC hour: in a half-hour zone an hour touches two days. The late
			// inserts are added to their days' aggregates; only the re-priced day is rebuilt.
			touched := map[string]bool{}
			h := at.UTC().Truncate(time.Hour)
			touched[h.In(loc).Format(time.DateOnly)] = true
			touched[h.Add(time.Hour-time.Microsecond).In(loc).Format(time.DateOnly)] = true
			var want []string
			for d := range touched {
				want = append(want, d)
			}
			sort.Strings(want)
			if got := dates(rep.RefreshedDays); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("run after late and re-priced events rebuilt %v; want %v (the re-priced day only)", got, want)
			}
			checkBreakdowns(t, pool, loc, day12.Start.AddDate(0, 0, -29), day12.End, st.TagKeys)
			checkRebuildEqual(t, pool, st, loc, day12)
			checkAggregates(t, pool, loc, day12.Start.AddDate(0, 0, -29), day12.End)
			var raw string
			if err := pool.QueryRow(ctx, "SELECT sum(cost)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2",
				rep.Series[0].Date, day12.End).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			sum := decimal.Zero
			for _, d := range rep.Series {
				sum = sum.Add(d.Cost)
			}
			if !sum.Equal(decimal.RequireFromString(raw)) {
				t.Fatalf("series sums to %s; events to %s", sum, raw)
			}

			// A late event for a day outside this run's series is counted by the next run of a
			// period that contains it, though another run consumed its change mark meanwhile.
			early := first.AddDate(0, 0, -70) // before the 60 days day12 reads
			monthBefore := report.PeriodContaining(report.Monthly, early, loc)
			if _, err := st.Report(ctx, report.ReportRequest{Period: monthBefore}); err != nil {
				t.Fatal(err)
			}
			insert(t, pool, ev{at: early.Add(3 * time.Hour), service: "LATE", cost: "5", ms: 1})
			if _, err := st.Report(ctx, report.ReportRequest{Period: day12}); err != nil {
				t.Fatal(err)
			}
			rep, err = st.Report(ctx, report.ReportRequest{Period: monthBefore})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.RefreshedDays) != 0 {
				t.Fatalf("month before rebuilt %v; want none (the day12 run added the late event)", dates(rep.RefreshedDays))
			}
			if !rep.Totals.Cost.Equal(decimal.NewFromInt(5)) {
				t.Fatalf("month before costs %s; want 5", rep.Totals.Cost)
			}
		})
	}
}

// Ensures a dry run changes nothing: no aggregate, no change mark consumed.
func TestDryRunRefreshChangesNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(3, 4)), first, 3, 50)...)
	count := func() (n [3]int) {
		for i, tbl := range []string{"event_changes", "aggregate_days", "daily_aggregates"} {
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n[i]); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	before := count()
	if before[0] == 0 {
		t.Fatal("inserting events left no change marks")
	}
	rep, err := st.Report(ctx, report.ReportRequest{Period: report.PeriodContaining(report.Monthly, first, seoul), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE occurred_at >= $1", first).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Requests != want || want == 0 {
		t.Fatalf("dry run counted %d requests; want %d", rep.Totals.Requests, want)
	}
	if after := count(); after != before {
		t.Fatalf("dry run changed (changes, current days, aggregates) from %v to %v", before, after)
	}
}

// Ensures concurrent runs and concurrent ingest never lose or double an update: runs of
// overlapping periods race each other and a writer; afterwards the aggregates equal the events.
func TestConcurrentRefreshes(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(5, 6)), first, 10, 300)...)
	periods := []report.Period{
		report.PeriodContaining(report.Daily, first.AddDate(0, 0, 9), seoul),
		report.PeriodContaining(report.Weekly, first.AddDate(0, 0, 4), seoul),
		report.PeriodContaining(report.Monthly, first, seoul),
	}
	var writer, runs sync.WaitGroup
	errs := make(chan error, 3)
	stop := make(chan struct{})
	writer.Add(1)
	go func() { // small batches for every day while the runs go on
		defer writer.Done()
		r := rand.New(rand.NewPCG(7, 8))
		for {
			select {
			case <-stop:
				return
			default:
			}
			insert(t, pool, randomEvents(r, first, 10, 5)...)
		}
	}()
	for w := 0; w < 3; w++ {
		runs.Add(1)
		go func() {
			defer runs.Done()
			for i := 0; i < 6; i++ {
				if _, err := st.Report(ctx, report.ReportRequest{Period: periods[(w+i)%len(periods)]}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	runs.Wait()
	close(stop)
	writer.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One more run of the month brings every day up to date with what was written.
	if _, err := st.Report(ctx, report.ReportRequest{Period: periods[2]}); err != nil {
		t.Fatal(err)
	}
	checkAggregates(t, pool, seoul, periods[2].Start, periods[2].End)
	checkRebuildEqual(t, pool, st, seoul, periods[2])
}

// Ensures a change mark names exactly the rows it stands for: rows the collector inserts (into a
// partition it has just created) are added to a built day; rows inserted inside a savepoint are
// added once and rows of a rolled-back savepoint never; a row whose ingest_xact was written by
// hand makes its day rebuilt instead. Afterwards the aggregates equal a rebuild.
func TestChangeMarksNameTheirRows(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(9, 10)), first, 3, 90)...)
	var unnamed int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_changes WHERE xact IS NULL").Scan(&unnamed); err != nil {
		t.Fatal(err)
	}
	if unnamed != 0 {
		t.Fatalf("the collector's inserts left %d marks that name no transaction", unnamed)
	}
	month := report.PeriodContaining(report.Monthly, first, seoul)
	if _, err := st.Report(ctx, report.ReportRequest{Period: month}); err != nil {
		t.Fatal(err)
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	row := func(id string, at time.Time) string {
		return fmt.Sprintf(`INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, duration_ms)
			VALUES ('%s', '%s', 'SAVEPOINT', 'm', 1, 1, 3.5, 'local', 42)`, id, at.Format(time.RFC3339Nano))
	}
	for _, s := range []string{
		"SAVEPOINT a", row("kept", first.Add(30*time.Hour)), "RELEASE SAVEPOINT a",
		"SAVEPOINT b", row("undone", first.Add(31*time.Hour)), "ROLLBACK TO SAVEPOINT b",
	} {
		if strings.HasPrefix(s, "INSERT") {
			if err := pgstore.InsertEvents(ctx, tx, s); err != nil {
				t.Fatal(err)
			}
		} else if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	forged := first.Add(50 * time.Hour)
	if err := pgstore.InsertEvents(ctx, pool, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, ingest_xact)
		VALUES ('forged', $1, 'FORGED', 'm', 1, 1, 1.25, 'local', '3')`, forged); err != nil {
		t.Fatal(err)
	}
	rep, err := st.Report(ctx, report.ReportRequest{Period: month})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dates(rep.RefreshedDays), []string{forged.Format(time.DateOnly)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rebuilt %v; want %v (the day of the row with a hand-written ingest_xact)", got, want)
	}
	var raw string
	if err := pool.QueryRow(ctx, "SELECT sum(cost)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2", month.Start, month.End).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !rep.Totals.Cost.Equal(decimal.RequireFromString(raw)) {
		t.Fatalf("month costs %s; events %s", rep.Totals.Cost, raw)
	}
	found := false
	for _, r := range rep.Breakdowns[report.ByService] {
		if r.Key == "SAVEPOINT" {
			found = true
			if r.Totals.Requests != 1 || !r.Totals.Cost.Equal(decimal.RequireFromString("3.5")) {
				t.Fatalf("SAVEPOINT service: %d requests, %s; want 1, 3.5", r.Totals.Requests, r.Totals.Cost)
			}
		}
	}
	if !found {
		t.Fatal("the row inserted in a savepoint is not counted")
	}
	checkRebuildEqual(t, pool, st, seoul, month)
}

// Ensures a day that gets as many new rows as a bulk load (maxDeltaRows) is rebuilt instead of
// having them added one group at a time, and is exact either way.
func TestBulkInsertRebuildsDay(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(19, 20)), first, 3, 60)...)
	p := report.PeriodContaining(report.Daily, first.AddDate(0, 0, 2), seoul)
	if _, err := st.Report(ctx, report.ReportRequest{Period: p}); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.InsertEvents(ctx, pool, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, duration_ms)
		SELECT 'bulk-' || i, $1::timestamptz + i * interval '1 second', 'BULK', 'm', 1, 1, 0.001, 'local', i % 5000
		FROM generate_series(1, 50000) i`, first.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	insert(t, pool, ev{at: first.Add(3 * time.Hour), service: "LATE", cost: "2", ms: 7}) // a small delta the same run adds
	rep, err := st.Report(ctx, report.ReportRequest{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dates(rep.RefreshedDays), []string{first.AddDate(0, 0, 1).Format(time.DateOnly)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rebuilt %v; want %v (the day of the bulk load only)", got, want)
	}
	checkRebuildEqual(t, pool, st, seoul, p)
}

// Ensures a refresh counts exactly the events of its snapshot when a writer commits while it
// runs: the rows committed after the refresh's marks were read are left to the next refresh
// (their marks), neither counted twice nor lost. On Citus there is no snapshot across shards: the
// rebuild reads the workers after the writer committed, and must leave its rows out itself.
func TestRefreshExactWhileWritersCommit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(31, 32)), first, 3, 60)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	restore := pgquery.AfterConsume(func() {
		insert(t, pool, randomEvents(rand.New(rand.NewPCG(33, 34)), first, 3, 30)...)
	})
	defer restore()
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	restore()
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	checkAggregates(t, pool, seoul, month.Start, month.End)
	checkRebuildEqual(t, pool, st, seoul, month)
}
