package demodata_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type dbState struct {
	rows, distinct, unpriced int
	cost                     decimal.Decimal
}

func state(t *testing.T, pool *pgxpool.Pool) dbState {
	t.Helper()
	var s dbState
	var cost string
	err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT (event_id, occurred_at)),
		count(*) FILTER (WHERE cost IS NULL), coalesce(sum(cost), 0)::text FROM events`).Scan(&s.rows, &s.distinct, &s.unpriced, &cost)
	if err != nil {
		t.Fatal(err)
	}
	s.cost = decimal.RequireFromString(cost)
	return s
}

func load(t *testing.T, pool *pgxpool.Pool, opt demodata.Options) (*demodata.Generator, demodata.Loaded, []int) {
	t.Helper()
	g, err := demodata.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	store := pgstore.New(pool, pgstore.Options{})
	defer store.Close()
	var seen []int
	l, err := demodata.Load(context.Background(), g, store, 1000, func(done int) { seen = append(seen, done) })
	if err != nil {
		t.Fatal(err)
	}
	return g, l, seen
}

// Ensures the demo data lands in PostgreSQL complete and exact (SQL's sum of cost equals the
// generator's decimal sum to the last digit), and that loading it again adds nothing.
func TestLoadIsExactAndIdempotent(t *testing.T) {
	pool := pgtest.Pool(t)
	now := time.Now()
	opt := demodata.Options{Seed: 11, Events: 6000, End: now}
	g, first, progress := load(t, pool, opt)
	total := g.Total()
	cost, events, unpriced := first.Totals.Sum()
	if first.Accepted != total || first.Duplicates != 0 || events != total {
		t.Fatalf("first load: %d accepted, %d duplicates, %d counted; want all %d new", first.Accepted, first.Duplicates, events, total)
	}
	if len(progress) == 0 || progress[len(progress)-1] != total {
		t.Fatalf("progress %v: want it to end at %d", progress, total)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Fatalf("progress goes backwards: %v", progress)
		}
	}
	got := state(t, pool)
	if got.rows != total || got.distinct != total || got.unpriced != unpriced {
		t.Fatalf("database holds %d rows (%d distinct, %d unpriced); want %d (%d unpriced)", got.rows, got.distinct, got.unpriced, total, unpriced)
	}
	if !got.cost.Equal(cost) {
		t.Fatalf("sum(cost) in SQL is %s, the generator's decimal sum %s", got.cost, cost)
	}

	// Every service is stored.
	var services int
	if err := pool.QueryRow(context.Background(), "SELECT count(DISTINCT service) FROM events").Scan(&services); err != nil {
		t.Fatal(err)
	}
	if services != 5 {
		t.Errorf("%d services stored, want 5", services)
	}

	// The same run again: nothing new.
	_, again, _ := load(t, pool, opt)
	if again.Accepted != 0 || again.Duplicates != total {
		t.Fatalf("second load: %d accepted, %d duplicates; want 0 and %d", again.Accepted, again.Duplicates, total)
	}
	if s := state(t, pool); s.rows != got.rows || s.distinct != got.distinct || !s.cost.Equal(got.cost) {
		t.Fatalf("second load changed the table: %+v, was %+v", s, got)
	}

	// A later, bigger run adds only the events that were missing.
	opt.End, opt.Events = now.Add(time.Minute), 9000
	g3, third, _ := load(t, pool, opt)
	if third.Duplicates != total || third.Accepted != g3.Total()-total {
		t.Fatalf("bigger load: %d accepted, %d duplicates; want %d and %d", third.Accepted, third.Duplicates, g3.Total()-total, total)
	}
	cost3, _, _ := third.Totals.Sum()
	if s := state(t, pool); s.rows != g3.Total() || s.distinct != s.rows || !s.cost.Equal(cost3) {
		t.Fatalf("after the bigger load: %+v; want %d rows costing %s", s, g3.Total(), cost3)
	}
}

// Ensures stored rows read back as generated: tokens, flags, error text, tags and time.
func TestLoadedRowsReadBack(t *testing.T) {
	pool := pgtest.Pool(t)
	g, _, _ := load(t, pool, demodata.Options{Seed: 5, Events: 2000, End: time.Now()})
	want := map[string]collect.Row{}
	for r := range g.Rows() {
		want[r.EventID] = r
	}
	rows, err := pool.Query(context.Background(), `SELECT event_id, occurred_at, service, model, provider, input_tokens,
		output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost::text, success, coalesce(error, ''),
		cache_hit, user_id, org_id, endpoint, tags::text, duration_ms FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var r collect.Row
		var cost, tags *string
		var dur int64
		if err := rows.Scan(&r.EventID, &r.OccurredAt, &r.Service, &r.Model, &r.Provider, &r.InputTokens, &r.OutputTokens,
			&r.CacheReadTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &cost, &r.Success, &r.Error, &r.CacheHit,
			&r.UserID, &r.OrgID, &r.Endpoint, &tags, &dur); err != nil {
			t.Fatal(err)
		}
		n++
		w, ok := want[r.EventID]
		if !ok {
			t.Fatalf("stored event %s was not generated", r.EventID)
		}
		if !r.OccurredAt.Equal(w.OccurredAt) || r.Service != w.Service || r.Model != w.Model || r.Provider != w.Provider ||
			r.InputTokens != w.InputTokens || r.OutputTokens != w.OutputTokens || r.CacheReadTokens != w.CacheReadTokens ||
			r.CacheWriteTokens != w.CacheWriteTokens || r.ReasoningTokens != w.ReasoningTokens || r.Success != w.Success ||
			r.Error != w.Error || r.CacheHit != w.CacheHit || r.UserID != w.UserID || r.OrgID != w.OrgID ||
			r.Endpoint != w.Endpoint || dur != w.DurationMS {
			t.Fatalf("event %s reads back as\n%+v\nwant\n%+v", r.EventID, r, w)
		}
		if (cost == nil) != !w.Cost.Valid || cost != nil && !decimal.RequireFromString(*cost).Equal(w.Cost.Decimal) {
			t.Fatalf("event %s: cost %v, want %v", r.EventID, cost, w.Cost)
		}
		if tags == nil || *tags != `{"env": "prod", "region": "ap-northeast-2", "feature": "`+feature(w.Service)+`"}` {
			t.Fatalf("event %s: tags %v", r.EventID, tags)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d rows stored, %d generated", n, len(want))
	}
}

func feature(service string) string {
	return map[string]string{"QA_CHAT": "assistant", "MATCH_EXPLANATION": "matching", "EMBED_SEARCH": "search",
		"DOC_SUMMARY": "documents", "AGENT_TASKS": "agent"}[service]
}

type failingStore struct{ calls atomic.Int64 }

func (f *failingStore) Insert(ctx context.Context, rows []collect.Row) (int, int, error) {
	if f.calls.Add(1) == 2 {
		return 0, 0, collect.ErrUnavailable
	}
	return len(rows), 0, nil
}

// Ensures a failing store stops the load with its error instead of losing rows silently.
func TestLoadStopsOnStoreError(t *testing.T) {
	g, err := demodata.New(demodata.Options{Seed: 1, Events: 20000, End: end, Location: seoul})
	if err != nil {
		t.Fatal(err)
	}
	_, err = demodata.Load(context.Background(), g, &failingStore{}, 1000, nil)
	if !errors.Is(err, collect.ErrUnavailable) {
		t.Fatalf("Load: %v, want the store's error", err)
	}
}
