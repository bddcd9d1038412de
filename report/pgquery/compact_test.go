package pgquery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// Ensures merging the pending sums (CompactSums) leaves one row per UTC hour and dimensions
// whatever the number of commits, leaves alone the sums of a transaction whose rows are read
// instead (a mark without sums), and keeps budget spend and drivers exactly equal to a raw sum,
// in a zone of whole hours and one of half hours, through a second merge into rows already
// merged and through the refresh that consumes them.
func TestCompactSumsBoundedAndExact(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	kolkata := mustLoc("Asia/Kolkata")
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(31, 32))
	insert(t, pool, randomEvents(r, first, 10, 2000)...)
	monthIn := func(loc *time.Location) report.Period {
		return report.PeriodContaining(report.Monthly, first.AddDate(0, 0, 5).In(loc), loc)
	}
	for _, loc := range []*time.Location{seoul, kolkata} {
		if _, err := st.Refresh(ctx, monthIn(loc).Start, monthIn(loc).End, 0); err != nil {
			t.Fatal(err)
		}
	}
	// commits inserts n transactions of 3 events each over two hours of a built day.
	at := first.AddDate(0, 0, 8).Add(13 * time.Hour)
	commits := func(n int) {
		for i := 0; i < n; i++ {
			evs := randomEvents(r, at, 1, 3)
			for j := range evs {
				evs[j].at = at.Add(time.Duration(r.IntN(7200)) * time.Second)
			}
			insert(t, pool, evs...)
		}
	}
	commits(150)
	// Five transactions as if each had also written a statement too large to sum: their marks
	// say unsummed, so readers read their rows and leave their sums out; a merge must too.
	if _, err := pool.Exec(ctx, `UPDATE event_changes SET summed = false
		WHERE xact IN (SELECT DISTINCT xact FROM event_changes ORDER BY xact LIMIT 5)`); err != nil {
		t.Fatal(err)
	}
	scopes := []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_2", UserID: "user-2"}, {OrgID: "org-1"}, {Model: "model-2"}}
	dims := []report.Dimension{report.ByService, report.ByModel, report.ByUser}
	check := func(stage string) {
		t.Helper()
		for _, loc := range []*time.Location{seoul, kolkata} {
			m := monthIn(loc)
			var qs []report.SpendQuery
			var want []report.Spend
			for _, sc := range scopes {
				qs = append(qs, report.SpendQuery{Scope: sc, Start: m.Start, End: m.End})
				want = append(want, rawSpend(t, pool, sc, m.Start, m.End))
				got, err := st.BudgetDrivers(ctx, sc, m.Start, m.End, dims, 5)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range dims {
					if w := rawDrivers(t, pool, sc, m.Start, m.End, d); fmt.Sprint(got[d]) != fmt.Sprint(w) {
						t.Errorf("%s, %s: drivers %s of %+v: %v; raw %v", stage, loc, d, sc, got[d], w)
					}
				}
			}
			checkBatch(t, st, qs, want)
		}
	}
	count := func(where string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_change_sums WHERE "+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const unsummed = "xact IN (SELECT xact FROM event_changes WHERE NOT summed)"
	const groups = "(SELECT count(*) FROM (SELECT DISTINCT hour, service, model, provider, org_id, user_id FROM event_change_sums WHERE NOT " + unsummed + ") g)"
	check("before merging")
	kept, before := count(unsummed), count("true")
	var wantMerged int
	if err := pool.QueryRow(ctx, "SELECT "+groups).Scan(&wantMerged); err != nil {
		t.Fatal(err)
	}
	merged, into, err := st.CompactSums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kept == 0 || int(merged) != before-kept || int(into) != wantMerged {
		t.Errorf("merged %d sums into %d rows; want the %d of summed transactions into %d (%d of unsummed ones kept)", merged, into, before-kept, wantMerged, kept)
	}
	if n := count("xact = 0"); n != wantMerged || count(unsummed) != kept || count("xact <> 0 AND NOT "+unsummed) != 0 {
		t.Errorf("after the merge: %d merged rows (want %d), %d sums of unsummed transactions (want %d), %d other",
			n, wantMerged, count(unsummed), kept, count("xact <> 0 AND NOT "+unsummed))
	}
	check("merged")

	// More commits over the same hours merge into the rows already merged.
	commits(150)
	if err := pool.QueryRow(ctx, "SELECT "+groups).Scan(&wantMerged); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CompactSums(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("xact = 0"); n != wantMerged {
		t.Errorf("after the second merge: %d merged rows, want one per hour and dimensions: %d", n, wantMerged)
	}
	check("merged twice")

	for _, loc := range []*time.Location{seoul, kolkata} {
		if _, err := st.Refresh(ctx, monthIn(loc).Start, monthIn(loc).End, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := count("true"); n != 0 {
		t.Errorf("the refresh left %d sums", n)
	}
	check("after the refresh")
	checkRebuildEqual(t, pool, st, seoul, monthIn(seoul))
}

// Ensures merges running all the time beside small commits and refreshes never fail a refresh
// and never lose or double a sum: afterwards budget spend equals a raw sum and the aggregates a
// rebuild.
func TestCompactSumsBesideRefreshes(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(41, 42)), first, 10, 300)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	var bg sync.WaitGroup
	errs := make(chan error, 4)
	stop := make(chan struct{})
	loop := func(step func(i int) error) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := step(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	r := rand.New(rand.NewPCG(43, 44))
	loop(func(int) error { insert(t, pool, randomEvents(r, first, 10, 3)...); return nil })
	var merges atomic.Int64
	loop(func(int) error {
		n, _, err := st.CompactSums(ctx)
		if n > 0 {
			merges.Add(1)
		}
		return err
	})
	sc := []report.Scope{{}, {Service: "SVC_1"}}
	// At least 12 refreshes, and on until a merge got in between them (a merge skips while a
	// refresh holds the aggregates' lock, so on a busy machine it may take more).
	for i := 0; i < 12 || merges.Load() == 0; i++ {
		if i == 2000 {
			t.Fatal("no merge ran beside 2,000 refreshes")
		}
		if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.BudgetSpends(ctx, []report.SpendQuery{{Scope: sc[i%2], Start: month.Start, End: month.End}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var qs []report.SpendQuery
	var want []report.Spend
	for _, s := range sc {
		qs = append(qs, report.SpendQuery{Scope: s, Start: month.Start, End: month.End})
		want = append(want, rawSpend(t, pool, s, month.Start, month.End))
	}
	checkBatch(t, st, qs, want)
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	checkRebuildEqual(t, pool, st, seoul, month)
}

// Ensures a merge reads the index of unmerged sums, not the table, both to learn that nothing is
// pending and to merge what is, even when the planner's statistics are from before a burst whose
// sums were all merged since (the table large and mostly dead): collectors merge every second,
// busy or idle.
func TestCompactSumsReadTheIndex(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	// A burst: 50,000 sums of distinct transactions, merged into 100 rows.
	if _, err := pool.Exec(ctx, `INSERT INTO event_change_sums (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
		SELECT date_trunc('hour', now()), 1000 + i, 'SVC', 'model', 'provider', '', 'user-' || i % 100, 1.5, 1, 0
		FROM generate_series(1, 50000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE event_change_sums`); err != nil {
		t.Fatal(err)
	}
	if merged, into, err := st.CompactSums(ctx); err != nil || merged != 50000 || into != 100 {
		t.Fatalf("merged %d sums into %d rows (%v), want 50000 into 100", merged, into, err)
	}
	q, err := os.ReadFile("sql/sums_unmerged_first.sql")
	if err != nil {
		t.Fatal(err)
	}
	var plan []byte
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+string(q)).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	seqScan := regexp.MustCompile(`"Node Type": "Seq Scan",[^}]*"Relation Name": "event_change_sums"`)
	if !strings.Contains(string(plan), `"Index Name": "event_change_sums_unmerged"`) || seqScan.Match(plan) {
		t.Fatalf("the check reads the table, not the index:\n%s", plan)
	}
	if merged, into, err := st.CompactSums(ctx); err != nil || merged != 0 || into != 0 {
		t.Fatalf("nothing pending: merged %d into %d (%v)", merged, into, err)
	}
	// New sums after the burst: the merge finds them through the index too.
	if _, err := pool.Exec(ctx, `INSERT INTO event_change_sums (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
		SELECT date_trunc('hour', now()), 100000 + i, 'SVC', 'model', 'provider', '', 'user-' || i % 100, 1.5, 1, 0
		FROM generate_series(1, 300) i`); err != nil {
		t.Fatal(err)
	}
	merge, err := os.ReadFile("sql/sums_compact.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+string(merge), int64(100001)).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plan), `"Index Name": "event_change_sums_unmerged"`) || seqScan.Match(plan) {
		t.Fatalf("the merge reads the table, not the index:\n%s", plan)
	}
	if merged, into, err := st.CompactSums(ctx); err != nil || merged != 300 || into != 100 {
		t.Fatalf("merged %d sums into %d rows (%v), want 300 into 100", merged, into, err)
	}
}
