package pgquery_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// decideSpend follows DecideSpend as the Decider does: a read without since replaces spend, a
// read since a snapshot adds to it; it returns the snapshot to read since next.
func decideSpend(t *testing.T, st *pgquery.Store, spend map[string]decimal.Decimal, sc report.Scope, per report.Per, p report.Period, since string) string {
	t.Helper()
	ds, snap, err := st.DecideSpend(context.Background(), sc, per, p.Start, p.End, since)
	if err != nil {
		t.Fatal(err)
	}
	if since == "" {
		clear(spend)
	}
	for _, d := range ds {
		spend[d.Key] = spend[d.Key].Add(d.Cost)
	}
	if snap == "" && !pgtest.Citus() {
		t.Fatal("no snapshot on plain PostgreSQL")
	}
	return snap
}

// equalsRaw fails unless spend holds exactly the raw spend of every entity (and nothing else
// but zeros).
func equalsRaw(t *testing.T, pool *pgxpool.Pool, spend map[string]decimal.Decimal, sc report.Scope, per report.Per, p report.Period, step string) {
	t.Helper()
	raw := rawEntitySpend(t, pool, sc, per, p.Start, p.End)
	for _, d := range raw {
		if got := spend[d.Key]; !got.Equal(d.Cost) {
			t.Errorf("%s, %s %q: spend %s, raw %s", step, per, d.Key, got, d.Cost)
		}
	}
	keys := 0
	for _, v := range spend {
		if !v.IsZero() {
			keys++
		}
	}
	if want := len(raw) - countZero(raw); keys != want {
		t.Errorf("%s, %s: %d entities with spend, raw %d", step, per, keys, want)
	}
}

func countZero(ds []report.Driver) int {
	return len(slices.DeleteFunc(slices.Clone(ds), func(d report.Driver) bool { return !d.Cost.IsZero() }))
}

// Ensures a read since a snapshot adds exactly what was committed after it: the spend read whole
// plus each read since equals a raw sum over the events at every step, per user and per
// organisation, within a scope, with late events, and with a transaction that was running during
// one read and committed after it (its rows come with the next read, once).
func TestDecideSpendSinceIsExact(t *testing.T) {
	ctx := context.Background()
	// The first 10 days aggregated: the whole reads take them from the aggregates.
	pool, st, first := partlyAggregated(t, 31, 600, 10)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	type envelope struct {
		sc    report.Scope
		per   report.Per
		spend map[string]decimal.Decimal
		snap  string
	}
	envs := []*envelope{
		{per: report.Per{Field: report.PerUserID}},
		{per: report.Per{Field: report.PerOrgID}},
		{sc: report.Scope{Service: "SVC_1"}, per: report.Per{Field: report.PerUserID}},
	}
	read := func(step string) {
		t.Helper()
		for _, e := range envs {
			if e.spend == nil {
				e.spend = map[string]decimal.Decimal{}
			}
			e.snap = decideSpend(t, st, e.spend, e.sc, e.per, month, e.snap)
			equalsRaw(t, pool, e.spend, e.sc, e.per, month, step)
		}
	}
	read("whole")

	// A transaction inserts an event of its own and stays open across the next read.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE running ON COMMIT DROP AS SELECT * FROM events WHERE occurred_at >= $1 LIMIT 1`, first.AddDate(0, 0, 12)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE running SET event_id = 'running-1', user_id = 'user-running', org_id = 'org-running', service = 'SVC_1',
		cost = 41.0000007, occurred_at = $1, ingest_xact = txid_current()`, first.AddDate(0, 0, 24)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events SELECT * FROM running`); err != nil {
		t.Fatal(err)
	}
	// Committed meanwhile: new events, a late one on an aggregated day, one for a new user.
	insert(t, pool, ev{at: first.AddDate(0, 0, 2).Add(time.Hour), service: "SVC_1", user: "user-1", org: "org-1", cost: "3.3000001"},
		ev{at: first.AddDate(0, 0, 15), service: "SVC_2", user: "user-new", org: "org-2", cost: "0.25"},
		ev{at: first.AddDate(0, 0, 16), service: "SVC_1", user: "user-2", cost: ""})
	read("since, a transaction running")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	insert(t, pool, ev{at: first.AddDate(0, 0, 19), service: "SVC_1", user: "user-running", org: "org-1", cost: "1.0000003"})
	read("since, the transaction committed")
	if got := envs[0].spend["user-running"]; !got.Equal(decimal.RequireFromString("42.000001")) {
		t.Errorf("user-running: %s, want 42.000001 (the running transaction's event once, and the later one)", got)
	}
	read("since, nothing new")
	// A whole read again agrees with what the reads since have added up to.
	for _, e := range envs {
		e.snap = ""
	}
	read("whole again")
}

// Ensures a budget without per reads its whole spend as the entity "", whole and since.
func TestDecideSpendWithoutPer(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(5, 6)), first, 20, 200)...)
	month := report.PeriodContaining(report.Monthly, first, seoul)
	spend := map[string]decimal.Decimal{}
	snap := decideSpend(t, st, spend, report.Scope{}, report.Per{}, month, "")
	insert(t, pool, ev{at: first.AddDate(0, 0, 3), service: "SVC_1", cost: "2.5"}, ev{at: first.AddDate(0, 0, 4), service: "SVC_3", cost: "0.0000001"})
	decideSpend(t, st, spend, report.Scope{}, report.Per{}, month, snap)
	want, err := st.BudgetSpend(ctx, report.Scope{}, month.Start, month.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(spend) != 1 || !spend[""].Equal(want.Cost) {
		t.Fatalf("spend %v, want only \"\": %s", spend, want.Cost)
	}
}
