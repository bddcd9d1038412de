package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func count(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Ensures duplicates inside one request, across requests and across concurrent requests are
// stored and counted once.
func TestInsertDuplicates(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

	acc, dup, err := s.Insert(ctx, []collect.Row{eventtest.Row("a", at), eventtest.Row("b", at), eventtest.Row("a", at)})
	if err != nil || acc != 2 || dup != 1 {
		t.Fatalf("within one request: accepted %d duplicates %d err %v; want 2, 1", acc, dup, err)
	}
	acc, dup, err = s.Insert(ctx, []collect.Row{eventtest.Row("b", at), eventtest.Row("c", at)})
	if err != nil || acc != 1 || dup != 1 {
		t.Fatalf("across requests: accepted %d duplicates %d err %v; want 1, 1", acc, dup, err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc, _, err := s.Insert(ctx, []collect.Row{eventtest.Row("x", at), eventtest.Row(fmt.Sprintf("y%d", i), at)})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += acc
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 21 {
		t.Fatalf("concurrent: accepted %d in all, want 21 (x once, y0..y19)", total)
	}
	if got := count(t, pool); got != 24 {
		t.Fatalf("rows = %d, want 24", got)
	}
	var cost string
	if err := pool.QueryRow(ctx, "SELECT cost::text FROM events WHERE event_id='a'").Scan(&cost); err != nil || cost != "7.80" {
		t.Fatalf("cost = %q (%v), want 7.80 exactly", cost, err)
	}
}

// Ensures many concurrent requests share commits.
func TestGroupCommit(t *testing.T) {
	pool := pgtest.Pool(t)
	var mu sync.Mutex
	commits, requests := 0, 0
	s := pgstore.New(pool, pgstore.Options{Committers: 1, OnCommit: func(reqs, rows int, _ time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		commits++
		requests += reqs
	}})
	defer s.Close()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	const n = 200
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Insert(context.Background(), []collect.Row{eventtest.Row(fmt.Sprintf("g%d", i), at)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if requests != n || commits >= n/2 {
		t.Fatalf("%d requests in %d commits; want %d requests sharing far fewer commits", requests, commits, n)
	}
	if got := count(t, pool); got != n {
		t.Fatalf("rows = %d, want %d", got, n)
	}
	t.Logf("%d requests in %d commits", requests, commits)
}

// Ensures an event dated in a month with no partition yet is stored (the partition is created).
func TestMissingPartition(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	old := time.Now().AddDate(-3, 0, 0)
	acc, _, err := s.Insert(context.Background(), []collect.Row{eventtest.Row("old", old)})
	if err != nil || acc != 1 {
		t.Fatalf("accepted %d err %v", acc, err)
	}
}

// Ensures a request the database refuses fails alone: requests sharing its group commit are
// retried on their own and stored.
func TestFailedRequestDoesNotFailOthers(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{Committers: 1})
	defer s.Close()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := eventtest.Row(fmt.Sprintf("f%d", i), at)
			if i == 7 {
				r.Service = "bad\x00byte" // PostgreSQL text cannot hold NUL
			}
			_, _, errs[i] = s.Insert(context.Background(), []collect.Row{r, eventtest.Row(fmt.Sprintf("f%d-2", i), at)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Fatalf("request %d: err %v", i, err)
		}
	}
	if got := count(t, pool); got != 78 {
		t.Fatalf("rows = %d, want 78 (every request but the bad one, whole)", got)
	}
}

// Ensures several processes may migrate one empty database at once: goose's advisory lock
// serialises them and every one succeeds.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	name := fmt.Sprintf("aispend_migrate_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	url := strings.Replace(pgtest.AdminURL(t), "/postgres?", "/"+name+"?", 1)

	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- pgstore.Migrate(ctx, pool, 90)
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	pool := pgtest.Connect(t, url)
	var parts int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass").Scan(&parts); err != nil || parts < 4 {
		t.Fatalf("partitions after migrate: %d (%v)", parts, err)
	}
}
