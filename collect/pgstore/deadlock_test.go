package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// lockWaiters waits until n backends of the database wait for a lock, and fails the test if
// that does not happen within a generous deadline. On Citus the writers wait on the workers that
// hold the rows' shards: citus_stat_activity lists the backends of every node.
func lockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	activity := "pg_stat_activity"
	if pgtest.Citus() {
		activity = "citus_stat_activity"
	}
	for {
		var waiting int
		err := pool.QueryRow(context.Background(),
			"SELECT count(*) FROM "+activity+" WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends wait for a lock, want %d", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gate inserts the event k in a transaction left open, so that writers of k wait for it.
func gate(t *testing.T, pool *pgxpool.Pool, k collect.Row) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost_source)
		VALUES ($1, $2, 'S', 'm', 1, 1, 'none')`, k.EventID, k.OccurredAt); err != nil {
		t.Fatal(err)
	}
	return tx
}

type answer struct {
	accepted, duplicates int
	err                  error
}

func insertAsync(s *pgstore.Store, rows ...collect.Row) chan answer {
	c := make(chan answer, 1)
	go func() {
		a, d, err := s.Insert(context.Background(), rows)
		c <- answer{a, d, err}
	}()
	return c
}

// Ensures two group commits holding the same events in opposite orders do not deadlock: each
// writes its rows in key order. A retried request racing its original is the common case.
// Both requests are held on a third transaction's row until both are in flight, then released
// at once. In "fallback", a key of both is already stored, so that both go through the
// staging table and INSERT … ON CONFLICT instead of the COPY.
func TestOppositeOrdersDoNotDeadlock(t *testing.T) {
	for _, path := range []string{"copy", "fallback"} {
		t.Run(path, func(t *testing.T) {
			pool := pgtest.Pool(t)
			var mu sync.Mutex
			var commitErrs []error
			s := pgstore.New(pool, pgstore.Options{Committers: 2, OnCommit: func(_, _ int, _ time.Duration, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					commitErrs = append(commitErrs, err)
				}
			}})
			defer s.Close()
			at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
			a, g, b := eventtest.Row("dl-a", at), eventtest.Row("dl-g", at), eventtest.Row("dl-z", at)
			first, second := []collect.Row{a, g, b}, []collect.Row{b, g, a}
			wantDups := 3
			if path == "fallback" {
				old := eventtest.Row("dl-0", at)
				if _, _, err := s.Insert(context.Background(), []collect.Row{old}); err != nil {
					t.Fatal(err)
				}
				first, second = append(first, old), append([]collect.Row{old}, second...)
				wantDups += 2
			}
			tx := gate(t, pool, g)

			r1c := insertAsync(s, first...) // writes a, then waits for g
			lockWaiters(t, pool, 1)
			r2c := insertAsync(s, second...) // in the other committer
			lockWaiters(t, pool, 2)
			if err := tx.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			r1, r2 := <-r1c, <-r2c
			if r1.err != nil || r2.err != nil {
				t.Fatalf("overlapping requests in opposite orders: %v / %v", r1.err, r2.err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !pgtest.Citus() && len(commitErrs) > 0 { // not even a deadlock retried
				t.Fatalf("commit errors: %v", commitErrs)
			}
			// On Citus a COPY streams to the shards of several workers at once, so two COPYs of
			// the same keys can lock them in opposite orders across workers whatever the order
			// of the rows: Citus detects that deadlock and the store writes the group again
			// (both requests succeeded above). Any other commit error is a failure.
			for _, err := range commitErrs {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "40P01" {
					t.Fatalf("commit error other than a retried deadlock: %v", err)
				}
			}
			if r1.accepted+r2.accepted != 3 || r1.duplicates+r2.duplicates != wantDups {
				t.Fatalf("accepted %d+%d, duplicates %d+%d; want 3 and %d", r1.accepted, r2.accepted, r1.duplicates, r2.duplicates, wantDups)
			}
			if got, want := count(t, pool), len(first); got != want {
				t.Fatalf("rows = %d, want %d", got, want)
			}
		})
	}
}

// Ensures a group commit chosen as a deadlock victim (here against another writer of the
// events table) is retried inside the collector rather than answered as unavailable.
func TestDeadlockIsRetried(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{Committers: 1})
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	a, g := eventtest.Row("dr-a", at), eventtest.Row("dr-g", at)
	tx := gate(t, pool, g)
	// The other writer waits long before checking for a deadlock, so that the collector's
	// transaction is the one PostgreSQL aborts.
	if _, err := tx.Exec(ctx, "SET LOCAL deadlock_timeout = '60s'"); err != nil {
		t.Fatal(err)
	}
	res := insertAsync(s, a, g) // writes a, then waits for g
	lockWaiters(t, pool, 1)
	// Now wait for a: a cycle, which the collector's side detects after its deadlock_timeout.
	if _, err := tx.Exec(ctx, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost_source)
		VALUES ($1, $2, 'S', 'm', 1, 1, 'none')`, a.EventID, a.OccurredAt); err != nil {
		t.Fatalf("other writer: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.accepted != 2 {
		t.Fatalf("after a deadlock: accepted %d, err %v; want 2 accepted", r.accepted, r.err)
	}
	if got := count(t, pool); got != 2 {
		t.Fatalf("rows = %d, want 2", got)
	}
}
