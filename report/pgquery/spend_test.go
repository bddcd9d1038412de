package pgquery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// rawSpend is the spend of a scope straight from the events.
func rawSpend(t *testing.T, pool *pgxpool.Pool, sc report.Scope, start, end time.Time) report.Spend {
	t.Helper()
	var cost string
	var sp report.Spend
	err := pool.QueryRow(context.Background(), `SELECT coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
		FROM events WHERE occurred_at >= $1 AND occurred_at < $2
		AND ($3 = '' OR service = $3) AND ($4 = '' OR model = $4) AND ($5 = '' OR org_id = $5) AND ($6 = '' OR user_id = $6)
		AND ($7 = '' OR tags ->> $7 = $8)`,
		start, end, sc.Service, sc.Model, sc.OrgID, sc.UserID, sc.TagKey, sc.TagValue).Scan(&cost, &sp.Events, &sp.Unpriced)
	if err != nil {
		t.Fatal(err)
	}
	sp.Cost = decimal.RequireFromString(cost)
	return sp
}

func rawDrivers(t *testing.T, pool *pgxpool.Pool, sc report.Scope, start, end time.Time, dim report.Dimension) []report.Driver {
	t.Helper()
	rows, err := pool.Query(context.Background(), fmt.Sprintf(`SELECT coalesce(%s, ''), coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
		FROM events WHERE occurred_at >= $1 AND occurred_at < $2
		AND ($3 = '' OR service = $3) AND ($4 = '' OR model = $4) AND ($5 = '' OR org_id = $5) AND ($6 = '' OR user_id = $6)
		GROUP BY 1 ORDER BY coalesce(sum(cost), 0) DESC, count(*) DESC, 1 LIMIT 5`, dim),
		start, end, sc.Service, sc.Model, sc.OrgID, sc.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var out []report.Driver
	for rows.Next() {
		var d report.Driver
		var c string
		if err := rows.Scan(&d.Key, &c, &d.Requests, &d.Unpriced); err != nil {
			t.Fatal(err)
		}
		d.Cost = decimal.RequireFromString(c)
		out = append(out, d)
	}
	return out
}

// Ensures BudgetSpend and BudgetDrivers equal a raw sum over the events for every kind of scope
// and any end instant, whatever is aggregated: days current, days changed since their
// aggregation (late events), days never aggregated (the tail) and partial days.
func TestBudgetSpendEqualsRawSum(t *testing.T) {
	ctx := context.Background()
	// Aggregate the first 15 days, then let late events arrive for two of them.
	pool, st, first := partlyAggregated(t, 9, 800, 15)
	insert(t, pool, ev{at: first.AddDate(0, 0, 3).Add(time.Hour), service: "SVC_1", model: "model-1", user: "user-1", org: "org-1", cost: "3.3"},
		ev{at: first.AddDate(0, 0, 8).Add(time.Hour), service: "SVC_2", user: "user-2", cost: ""})
	pgtest.ChangeEvents(t, pool, `UPDATE events SET tags = '{"team": "a"}' WHERE event_id IN (SELECT event_id FROM events ORDER BY event_id LIMIT 100)`)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	ends := []time.Time{
		month.End, first.AddDate(0, 0, 10), first.AddDate(0, 0, 10).Add(7*time.Hour + 13*time.Minute),
		first.AddDate(0, 0, 17).Add(90 * time.Minute), first.Add(5 * time.Hour),
	}
	scopes := []report.Scope{
		{}, {Service: "SVC_1"}, {Model: "model-2"}, {OrgID: "org-1"}, {UserID: "user-3"},
		{Service: "SVC_1", Model: "model-1"}, {Service: "SVC_2", UserID: "user-2"}, {TagKey: "team", TagValue: "a"},
	}
	var batch []report.SpendQuery
	var batchWant []report.Spend
	for _, end := range ends {
		for _, start := range []time.Time{month.Start, first.AddDate(0, 0, 2).Add(30 * time.Minute)} {
			if !start.Before(end) {
				continue
			}
			for _, sc := range scopes {
				batch = append(batch, report.SpendQuery{Scope: sc, Start: start, End: end})
				batchWant = append(batchWant, rawSpend(t, pool, sc, start, end))
				got, err := st.BudgetSpend(ctx, sc, start, end)
				if err != nil {
					t.Fatal(err)
				}
				want := rawSpend(t, pool, sc, start, end)
				if !got.Cost.Equal(want.Cost) || got.Events != want.Events || got.Unpriced != want.Unpriced {
					t.Errorf("spend %+v [%s, %s): %s/%d/%d; raw %s/%d/%d", sc, start, end,
						got.Cost, got.Events, got.Unpriced, want.Cost, want.Events, want.Unpriced)
				}
				if sc.TagKey != "" {
					continue
				}
				dims := []report.Dimension{report.ByService, report.ByModel, report.ByUser, report.ByOrg, report.ByProvider}
				gotD, err := st.BudgetDrivers(ctx, sc, start, end, dims, 5)
				if err != nil {
					t.Fatal(err)
				}
				for _, dim := range dims {
					if wantD := rawDrivers(t, pool, sc, start, end, dim); fmt.Sprint(gotD[dim]) != fmt.Sprint(wantD) {
						t.Errorf("drivers %s of %+v [%s, %s): %v; raw %v", dim, sc, start, end, gotD[dim], wantD)
					}
				}
				// Only the dimensions asked for are grouped, in any order and number.
				for _, sub := range [][]report.Dimension{report.AlertDimensions, {report.ByUser}, {report.ByProvider, report.ByOrg}} {
					got, err := st.BudgetDrivers(ctx, sc, start, end, sub, 5)
					if err != nil {
						t.Fatal(err)
					}
					for _, dim := range sub {
						if fmt.Sprint(got[dim]) != fmt.Sprint(gotD[dim]) {
							t.Errorf("drivers %s of %+v asked with %v: %v; with every dimension %v", dim, sc, sub, got[dim], gotD[dim])
						}
					}
				}
			}
		}
	}
	checkBatch(t, st, batch, batchWant)
}

// checkBatch asserts that BudgetSpends of every query at once equals the raw sums.
func checkBatch(t *testing.T, st *pgquery.Store, qs []report.SpendQuery, want []report.Spend) {
	t.Helper()
	got, err := st.BudgetSpends(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qs {
		if !got[i].Cost.Equal(want[i].Cost) || got[i].Events != want[i].Events || got[i].Unpriced != want[i].Unpriced {
			t.Errorf("batched spend %+v: %s/%d/%d; raw %s/%d/%d", qs[i], got[i].Cost, got[i].Events, got[i].Unpriced,
				want[i].Cost, want[i].Events, want[i].Unpriced)
		}
	}
}

// Ensures a budget's spend over days whose raw events retention dropped comes from the
// aggregates, exactly as it was before the drop.
func TestBudgetSpendAfterRetention(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	// 2025-03: well inside the test databases' partitions, far from now.
	first := time.Date(2025, 3, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(11, 12)), first.AddDate(0, 0, 1), 20, 300)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	scopes := []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_1", Model: "model-1"}}
	var before []report.Spend
	for _, sc := range scopes {
		before = append(before, rawSpend(t, pool, sc, month.Start, month.End))
	}
	dropped, err := st.DropPartitionsBefore(ctx, time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), seoul, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) == 0 {
		t.Fatal("nothing dropped")
	}
	for i, sc := range scopes {
		got, err := st.BudgetSpend(ctx, sc, month.Start, month.End)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Cost.Equal(before[i].Cost) || got.Events != before[i].Events {
			t.Errorf("after retention %+v: %s/%d; before %s/%d", sc, got.Cost, got.Events, before[i].Cost, before[i].Events)
		}
	}
}

// Ensures a budget's spend over days that are aggregated but have rows arrived since (change
// marks of inserts not yet consumed, several transactions in one hour) equals a raw sum for every
// kind of scope, before and after a refresh consumes the marks.
func TestBudgetSpendWithPendingInserts(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(13, 14))
	insert(t, pool, randomEvents(r, first, 10, 400)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	scopes := []report.Scope{
		{}, {Service: "SVC_1"}, {Model: "model-2"}, {OrgID: "org-1"}, {UserID: "user-3"},
		{Service: "SVC_1", Model: "model-1"}, {Service: "SVC_2", UserID: "user-2"},
	}
	check := func(stage string) {
		t.Helper()
		var qs []report.SpendQuery
		var want []report.Spend
		for _, start := range []time.Time{month.Start, first.AddDate(0, 0, 2)} {
			for _, end := range []time.Time{month.End, first.AddDate(0, 0, 6).Add(5*time.Hour + 30*time.Minute)} {
				for _, sc := range scopes {
					qs = append(qs, report.SpendQuery{Scope: sc, Start: start, End: end})
					want = append(want, rawSpend(t, pool, sc, start, end))
					got, err := st.BudgetSpend(ctx, sc, start, end)
					if err != nil {
						t.Fatal(err)
					}
					if w := want[len(want)-1]; !got.Cost.Equal(w.Cost) || got.Events != w.Events || got.Unpriced != w.Unpriced {
						t.Errorf("%s: spend %+v [%s, %s): %s/%d/%d; raw %s/%d/%d", stage, sc, start, end,
							got.Cost, got.Events, got.Unpriced, w.Cost, w.Events, w.Unpriced)
					}
				}
			}
		}
		checkBatch(t, st, qs, want)
	}
	late := func(seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed))
		for _, d := range []int{1, 4, 6} {
			at := first.AddDate(0, 0, d).Add(5 * time.Hour)
			for i := 0; i < 2; i++ { // two transactions in the same hour
				evs := randomEvents(r, at, 1, 6)
				for j := range evs {
					evs[j].at = at.Add(time.Duration(r.IntN(3600)) * time.Second)
				}
				insert(t, pool, evs...)
			}
		}
	}
	late(1)
	check("pending inserts")
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_changes").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("a refresh left %d change marks", pending)
	}
	check("after a refresh")
	late(2)
	check("pending inserts after a refresh")
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	checkRebuildEqual(t, pool, st, seoul, month)
}

// Ensures a refresh with a lag (a budget check's) runs only when there is more to do than read a
// few new events: a day never built, a change other than an insert, or an insert waiting longer
// than the lag; otherwise it leaves the marks for budget spend to read.
func TestRefreshWithLag(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(15, 16)), first, 5, 100)...)
	days := [2]time.Time{first, first.AddDate(0, 0, 5)}
	refresh := func(stage string, want bool) {
		t.Helper()
		did, err := st.Refresh(ctx, days[0], days[1], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var marks int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_changes").Scan(&marks); err != nil {
			t.Fatal(err)
		}
		if did != want || (did && marks != 0) {
			t.Fatalf("%s: refreshed %v with %d marks left; want refreshed %v", stage, did, marks, want)
		}
	}
	refresh("days never built", true)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(17, 18)), first, 5, 10)...)
	refresh("new events just now", false)
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_changes").Scan(&left); err != nil || left == 0 {
		t.Fatalf("marks of the new events: %d, %v; want them left for budget spend", left, err)
	}
	if _, err := pool.Exec(ctx, "UPDATE event_changes SET marked_at = marked_at - interval '61 minutes'"); err != nil {
		t.Fatal(err)
	}
	refresh("new events an hour ago", true)
	pgtest.ChangeEvents(t, pool, "UPDATE events SET cost = 1 WHERE event_id = (SELECT min(event_id) FROM events)")
	refresh("an update just now", true)
	days[1] = days[1].AddDate(0, 0, 1) // a day not built yet
	refresh("a day not built", true)
	refresh("nothing new", false)
	checkRebuildEqual(t, pool, st, seoul, report.PeriodContaining(report.Monthly, first, seoul))
}

// planNode is a node of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	NodeType       string     `json:"Node Type"`
	Relation       string     `json:"Relation Name"`
	Loops          float64    `json:"Actual Loops"`
	Rows           float64    `json:"Actual Rows"`
	JoinRemoved    float64    `json:"Rows Removed by Join Filter"`
	FilterRemoved  float64    `json:"Rows Removed by Filter"`
	RecheckRemoved float64    `json:"Rows Removed by Index Recheck"`
	Plans          []planNode `json:"Plans"`
	// On Citus, the plan of a distributed query holds the plan a worker ran for one of its
	// tasks (citus.explain_all_tasks off), as EXPLAIN's JSON array of one plan.
	Distributed *struct {
		Job struct {
			Tasks []struct {
				RemotePlan [][]struct{ Plan planNode } `json:"Remote Plan"`
			}
		}
	} `json:"Distributed Query"`
}

// children are the nodes below n: its subplans and, on Citus, the workers' plans of its tasks.
func (n planNode) children() []planNode {
	out := n.Plans
	if n.Distributed != nil {
		for _, task := range n.Distributed.Job.Tasks {
			for _, plans := range task.RemotePlan {
				for _, p := range plans {
					out = append(out, p.Plan)
				}
			}
		}
	}
	return out
}

// checkMarksMatchedOnce fails unless the plan reads each table of events and of change marks in
// one pass (no scan of them repeated per row), reads at most as many event rows in vain as there
// are pending rows (removed by a filter or an index recheck: the rows of other transactions),
// and compares each row with at most one mark in vain (rows removed by join filters): a cost
// linear in the pending rows, whatever the commits and wherever they were written.
func checkMarksMatchedOnce(t *testing.T, name string, plan []byte, rows int) {
	t.Helper()
	var top []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &top); err != nil || len(top) != 1 {
		t.Fatalf("%s: plan %s: %v", name, plan, err)
	}
	var removed, vain float64
	var walk func(n planNode)
	walk = func(n planNode) {
		if (strings.HasPrefix(n.Relation, "events") || n.Relation == "event_changes") && n.Loops > 1 {
			t.Errorf("%s: %s on %s runs %.0f times (%.0f rows each)", name, n.NodeType, n.Relation, n.Loops, n.Rows)
		}
		if strings.HasPrefix(n.Relation, "events") {
			vain += (n.FilterRemoved + n.RecheckRemoved) * max(n.Loops, 1)
		}
		removed += n.JoinRemoved * max(n.Loops, 1)
		for _, c := range n.children() {
			walk(c)
		}
	}
	walk(top[0].Plan)
	if vain > float64(rows) {
		t.Errorf("%s: read %.0f event rows in vain for %d pending rows", name, vain, rows)
	}
	if removed > float64(rows) {
		t.Errorf("%s: join filters removed %.0f rows for %d pending rows", name, removed, rows)
	}
}

// checkNoJoin fails unless the plan finds the pending rows without a join or a hash of any
// kind: through the index on ingest_xact, the rows of the pending transactions and no others
// (pending_rows.sql), rather than every row matched to the marks by (transaction, hour), which
// costs a hash probe and a time zone conversion per row.
func checkNoJoin(t *testing.T, name string, plan []byte) {
	t.Helper()
	var top []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &top); err != nil || len(top) != 1 {
		t.Fatalf("%s: plan %s: %v", name, plan, err)
	}
	var walk func(n planNode)
	walk = func(n planNode) {
		if strings.Contains(n.NodeType, "Join") || strings.Contains(n.NodeType, "Nested Loop") ||
			strings.Contains(n.NodeType, "Hash") || n.NodeType == "Function Scan" {
			t.Errorf("%s: %s node in the plan", name, n.NodeType)
		}
		for _, c := range n.children() {
			walk(c)
		}
	}
	walk(top[0].Plan)
}

// Ensures budget spend and a refresh match the rows of pending insert marks to their marks at a
// cost linear in the rows, however many small transactions (a collector's commits) brought them
// and wherever in the heap they were written: the plans scan the events and the marks once, read
// few rows besides the pending ones even when the new rows filled free space all over the
// table, and compare no row with the marks of other hours of its transaction; and the spend
// equals a raw sum exactly, before and after the refresh, whose deltas equal a rebuild.
func TestPendingMarksMatchedOncePerRow(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(19, 20))
	insert(t, pool, randomEvents(r, first, 10, 20000)...)
	// Free space all over the heap, as updates (re-pricing) and VACUUM leave it: new rows fill it
	// before they extend the table.
	for _, q := range []string{`UPDATE events SET tags = '{"team": "a"}' WHERE hashtext(event_id) % 4 = 0`, "VACUUM events"} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	month := report.PeriodContaining(report.Monthly, first, seoul)
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	// 300 commits of 4 events each, as clients send them to the collector: all in one hour.
	now := first.AddDate(0, 0, 8).Add(14 * time.Hour)
	pending := 0
	for i := 0; i < 300; i++ {
		evs := randomEvents(r, now, 1, 4)
		for j := range evs {
			evs[j].at = now.Add(time.Duration(4*i+j) * time.Second)
		}
		insert(t, pool, evs...)
		pending += len(evs)
	}
	// One transaction over every hour of the day before (a client's backlog): 24 marks.
	var backlog []ev
	for h := 0; h < 24; h++ {
		for _, e := range randomEvents(r, first, 1, 20) {
			e.at = first.AddDate(0, 0, 7).Add(time.Duration(h)*time.Hour + time.Duration(len(backlog))*time.Second)
			backlog = append(backlog, e)
		}
	}
	insert(t, pool, backlog...)
	pending += len(backlog)

	plans, err := st.ExplainPendingSpend(ctx, report.Scope{}, month.Start, month.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) == 0 {
		t.Fatal("no pending rows read: the new events' days are not current")
	}
	for _, p := range plans {
		checkMarksMatchedOnce(t, "pending spend", p, pending)
		checkNoJoin(t, "pending spend", p)
	}
	plan, err := st.ExplainApplyDeltas(ctx, seoul.String())
	if err != nil {
		t.Fatal(err)
	}
	checkMarksMatchedOnce(t, "apply_deltas", plan, pending)

	scopes := []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_2", UserID: "user-2"}}
	check := func(stage string) {
		t.Helper()
		var qs []report.SpendQuery
		var want []report.Spend
		for _, sc := range scopes {
			for _, end := range []time.Time{month.End, now.Add(30 * time.Minute)} {
				qs = append(qs, report.SpendQuery{Scope: sc, Start: month.Start, End: end})
				want = append(want, rawSpend(t, pool, sc, month.Start, end))
			}
		}
		got, err := st.BudgetSpends(ctx, qs)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if g := got[i]; !g.Cost.Equal(w.Cost) || g.Events != w.Events || g.Unpriced != w.Unpriced {
				t.Errorf("%s: spend %+v to %s: %s/%d/%d; raw %s/%d/%d", stage, qs[i].Scope, qs[i].End,
					g.Cost, g.Events, g.Unpriced, w.Cost, w.Events, w.Unpriced)
			}
		}
	}
	check("301 transactions pending")
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	check("after the refresh")
	checkRebuildEqual(t, pool, st, seoul, month)
}

// Ensures an alert's drivers read a current day that has pending insert marks as budget spend
// does, from its aggregates plus what the marks add (their sums, and the rows of the
// transactions whose marks have none), never from all of the day's events (an alert email reads
// five dimensions of its budget's period), and still equal a raw GROUP BY.
func TestDriversReadPendingRowsNotTheirDay(t *testing.T) {
	ctx := context.Background()
	pool, tr := tracedPool(t, pgtest.URL(t))
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(21, 22))
	insert(t, pool, randomEvents(r, first, 10, 4000)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	if _, err := st.Refresh(ctx, month.Start, month.End, 0); err != nil {
		t.Fatal(err)
	}
	// 50 commits of 4 events in one hour of a built day, as clients send them.
	at := first.AddDate(0, 0, 8).Add(14 * time.Hour)
	for i := 0; i < 50; i++ {
		evs := randomEvents(r, at, 1, 4)
		for j := range evs {
			evs[j].at = at.Add(time.Duration(4*i+j) * time.Second)
		}
		insert(t, pool, evs...)
	}
	check := func(stage string, wantReads []string) {
		t.Helper()
		tr.queries()
		for _, sc := range []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_2", UserID: "user-2"}} {
			// Every dimension of an alert comes from one read of each source, not one per dimension.
			dims := []report.Dimension{report.ByService, report.ByModel, report.ByUser}
			got, err := st.BudgetDrivers(ctx, sc, month.Start, month.End, dims, 5)
			if err != nil {
				t.Fatal(err)
			}
			queries := tr.queries()
			for _, dim := range dims {
				if want := rawDrivers(t, pool, sc, month.Start, month.End, dim); fmt.Sprint(got[dim]) != fmt.Sprint(want) {
					t.Errorf("%s: drivers %s of %+v: %v; raw %v", stage, dim, sc, got[dim], want)
				}
			}
			tr.queries()
			var reads []string
			for _, q := range queries {
				switch {
				case strings.Contains(q, "FROM event_change_sums"):
					reads = append(reads, "sums")
				case strings.Contains(q, "FROM events") && strings.Contains(q, "ingest_xact = ANY"):
					reads = append(reads, "rows")
				case strings.Contains(q, "FROM events"):
					t.Errorf("%s: drivers of %+v read a range of events in full:\n%s", stage, sc, q)
				}
			}
			if fmt.Sprint(reads) != fmt.Sprint(wantReads) {
				t.Errorf("%s: drivers of %+v read the pending marks' %v, want %v", stage, sc, reads, wantReads)
			}
		}
	}
	check("every mark summed", []string{"sums"})
	// The marks of 10 transactions as written before migration 00012: no sums.
	if _, err := pool.Exec(ctx, `WITH x AS (SELECT DISTINCT xact FROM event_changes ORDER BY xact LIMIT 10),
		u AS (UPDATE event_changes SET summed = false WHERE xact IN (SELECT xact FROM x))
		DELETE FROM event_change_sums WHERE xact IN (SELECT xact FROM x)`); err != nil {
		t.Fatal(err)
	}
	check("10 transactions without sums", []string{"sums", "rows"})
}

// planReads lists the relations a plan scans.
func planReads(t *testing.T, plan []byte) []string {
	t.Helper()
	var top []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &top); err != nil || len(top) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	var out []string
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" {
			out = append(out, n.Relation)
		}
		for _, c := range n.children() {
			walk(c)
		}
	}
	walk(top[0].Plan)
	return out
}

// Ensures budget spend reads what the pending insert marks add from the sums their trigger
// wrote (event_change_sums), not from the event rows, in a zone whose days are whole UTC hours;
// reads the rows instead for the transactions whose marks have no sums (written before
// migration 00012) and, in a zone whose offset is not whole hours, for every pending
// transaction; and equals a raw sum exactly in each case, before and after a refresh consumes
// the marks and their sums.
func TestPendingSpendFromSums(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	kolkata := mustLoc("Asia/Kolkata")
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(23, 24))
	insert(t, pool, randomEvents(r, first, 10, 3000)...)
	monthIn := func(loc *time.Location) report.Period {
		return report.PeriodContaining(report.Monthly, first.AddDate(0, 0, 5).In(loc), loc)
	}
	for _, loc := range []*time.Location{seoul, kolkata} {
		if _, err := st.Refresh(ctx, monthIn(loc).Start, monthIn(loc).End, 0); err != nil {
			t.Fatal(err)
		}
	}
	// 40 commits of 5 events around 14:00 of a built day (both sides of the hour: 14:00 Seoul is
	// 10:30 in Kolkata, the middle of a UTC hour there), some unpriced.
	at := first.AddDate(0, 0, 8).Add(13*time.Hour + 50*time.Minute)
	pending := 0
	for i := 0; i < 40; i++ {
		evs := randomEvents(r, at, 1, 5)
		for j := range evs {
			evs[j].at = at.Add(time.Duration(5*i+j) * 3 * time.Second)
		}
		insert(t, pool, evs...)
		pending += len(evs)
	}
	scopes := []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_2", UserID: "user-2"}, {OrgID: "org-1"}, {Model: "model-2"}}
	check := func(stage string) {
		t.Helper()
		t.Log(stage)
		for _, loc := range []*time.Location{seoul, kolkata} {
			m := monthIn(loc)
			var qs []report.SpendQuery
			var want []report.Spend
			for _, sc := range scopes {
				qs = append(qs, report.SpendQuery{Scope: sc, Start: m.Start, End: m.End})
				want = append(want, rawSpend(t, pool, sc, m.Start, m.End))
			}
			checkBatch(t, st, qs, want)
		}
	}
	// reads are the relations of the pending reads of the month in loc.
	reads := func(loc *time.Location) []string {
		t.Helper()
		plans, err := st.ExplainPendingSpend(ctx, report.Scope{}, monthIn(loc).Start, monthIn(loc).End)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range plans {
			checkMarksMatchedOnce(t, "pending spend", p, pending)
			checkNoJoin(t, "pending spend", p)
			out = append(out, planReads(t, p)...)
		}
		return out
	}
	check("every mark summed")
	if got := fmt.Sprint(reads(seoul)); got != "[event_change_sums]" {
		t.Errorf("Seoul, every mark summed: the pending spend reads %s, want the sums alone", got)
	}
	if got := reads(kolkata); len(got) != 1 || !strings.HasPrefix(got[0], "events") {
		t.Errorf("Kolkata (half-hour offset): the pending spend reads %v, want the event rows", got)
	}

	// The marks of 10 transactions as written before migration 00012: no sums.
	if _, err := pool.Exec(ctx, `WITH x AS (SELECT DISTINCT xact FROM event_changes ORDER BY xact LIMIT 10),
		u AS (UPDATE event_changes SET summed = false WHERE xact IN (SELECT xact FROM x))
		DELETE FROM event_change_sums WHERE xact IN (SELECT xact FROM x)`); err != nil {
		t.Fatal(err)
	}
	check("10 transactions without sums")
	if got := reads(seoul); len(got) != 2 || got[0] != "event_change_sums" || !strings.HasPrefix(got[1], "events") {
		t.Errorf("Seoul, 10 transactions without sums: the pending spend reads %v, want the sums, then the rows", got)
	}

	if _, err := st.Refresh(ctx, monthIn(seoul).Start, monthIn(seoul).End, 0); err != nil {
		t.Fatal(err)
	}
	var sums int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_change_sums").Scan(&sums); err != nil {
		t.Fatal(err)
	}
	if sums != 0 {
		t.Errorf("the refresh left %d sums of consumed marks", sums)
	}
	check("after the refresh")
	checkRebuildEqual(t, pool, st, seoul, monthIn(seoul))
}
