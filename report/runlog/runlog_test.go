package runlog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/runlog"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Ensures a second run of the same kind and period waits, fails naming the holder when the
// wait runs out, and succeeds once the first finishes; other periods are independent; Recent
// lists every run with its outcome.
func TestOverlappingRuns(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	short := runlog.New(pool, runlog.Options{Wait: 600 * time.Millisecond, Poll: 50 * time.Millisecond})

	first, err := short.Begin(ctx, "daily", "2025-10-01")
	if err != nil {
		t.Fatalf("first Begin: %v", err)
	}

	_, err = short.Begin(ctx, "daily", "2025-10-01")
	if !errors.Is(err, runlog.ErrBusy) {
		t.Fatalf("second Begin: got %v, want ErrBusy", err)
	}
	var busy *runlog.BusyError
	if !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.ID != first.ID {
		t.Fatalf("second Begin: got %#v, want a BusyError naming run %d", err, first.ID)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"daily run for 2025-10-01 is already in progress", fmt.Sprintf("run %d", first.ID), "host " + host, fmt.Sprintf("pid %d", os.Getpid()), "gave up after waiting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("busy message %q lacks %q", err, want)
		}
	}

	// Another period, and another kind for the same period, do not wait.
	other, err := short.Begin(ctx, "daily", "2025-10-02")
	if err != nil {
		t.Fatalf("Begin of another period: %v", err)
	}
	if err := other.Finish(ctx, errors.New("render report: boom"), nil, 0); err != nil {
		t.Fatalf("Finish other: %v", err)
	}
	weekly, err := short.Begin(ctx, "weekly", "2025-10-01")
	if err != nil {
		t.Fatalf("Begin of another kind: %v", err)
	}
	if err := weekly.Finish(ctx, nil, nil, 0); err != nil {
		t.Fatalf("Finish weekly: %v", err)
	}

	// A waiting Begin gets the lock when the first run finishes.
	patient := runlog.New(pool, runlog.Options{Wait: time.Minute, Poll: 50 * time.Millisecond})
	type result struct {
		run *runlog.Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := patient.Begin(ctx, "daily", "2025-10-01")
		done <- result{r, err}
	}()
	keys := []string{"daily/2025-10-01/index.html", "daily/2025-10-01/aispend-daily-2025-10-01.xlsx"}
	if err := first.Finish(ctx, nil, keys, 2); err != nil {
		t.Fatalf("Finish first: %v", err)
	}
	if err := first.Finish(ctx, nil, keys, 2); err == nil {
		t.Errorf("second Finish of the same run: want an error")
	}
	var second result
	select {
	case second = <-done:
	case <-time.After(time.Minute):
		t.Fatal("waiting Begin did not return within a minute of the first run finishing")
	}
	if second.err != nil {
		t.Fatalf("waiting Begin: %v", second.err)
	}
	if second.run.StartedAt.Before(*first.FinishedAt) {
		t.Errorf("second run started %s, before the first finished %s", second.run.StartedAt, *first.FinishedAt)
	}
	if len(second.run.Abandoned) != 0 {
		t.Errorf("second run abandoned %v; the first finished cleanly", second.run.Abandoned)
	}
	if err := second.run.Finish(ctx, nil, nil, 0); err != nil {
		t.Fatalf("Finish second: %v", err)
	}

	runs, err := short.Recent(ctx, 10)
	if err != nil {
		t.Fatalf("Recent: %v", err)
	}
	got := make([]string, len(runs))
	for i, r := range runs {
		got[i] = fmt.Sprintf("%d %s %s %s %q %v %d", r.ID, r.Kind, r.Period, r.Status, r.Error, r.PublishedKeys, r.AlertsSent)
		if r.FinishedAt == nil || r.Host != host || r.PID != os.Getpid() {
			t.Errorf("run %d: finished %v host %q pid %d", r.ID, r.FinishedAt, r.Host, r.PID)
		}
	}
	want := []string{
		fmt.Sprintf("%d daily 2025-10-01 succeeded \"\" [] 0", second.run.ID),
		fmt.Sprintf("%d weekly 2025-10-01 succeeded \"\" [] 0", weekly.ID),
		fmt.Sprintf("%d daily 2025-10-02 failed \"render report: boom\" [] 0", other.ID),
		fmt.Sprintf("%d daily 2025-10-01 succeeded \"\" %v 2", first.ID, keys),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Recent:\n got %q\nwant %q", got, want)
	}
	if runs, err := short.Recent(ctx, 1); err != nil || len(runs) != 1 || runs[0].ID != second.run.ID {
		t.Errorf("Recent(1): %v, %v; want only run %d", runs, err, second.run.ID)
	}
	if _, err := short.Recent(ctx, 0); err == nil {
		t.Errorf("Recent(0): want an error")
	}
}

// terminate kills the session holding a run's lock, as if its process had crashed.
func terminate(t *testing.T, pool *pgxpool.Pool, kind, period string) {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		 WHERE application_name = $1 AND datname = current_database()`, "aispend run "+kind+" "+period).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the lock session: %d sessions, %v", n, err)
	}
}

// Ensures a run whose process died (session gone, no Finish) does not block the next run of
// its key, which marks it abandoned; the dead run's context reports the lost lock.
func TestBeginAfterCrash(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	l := runlog.New(pool, runlog.Options{Wait: 30 * time.Second, Poll: 50 * time.Millisecond, Heartbeat: 100 * time.Millisecond})

	crashed, err := l.Begin(ctx, "monthly", "2025-09")
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	terminate(t, pool, "monthly", "2025-09")

	testkit.Eventually(t, 30*time.Second, "the crashed run's context is cancelled", func() bool {
		return crashed.Context().Err() != nil
	})
	if cause := context.Cause(crashed.Context()); !errors.Is(cause, runlog.ErrLockLost) {
		t.Errorf("cause: got %v, want ErrLockLost", cause)
	}

	next, err := l.Begin(ctx, "monthly", "2025-09")
	if err != nil {
		t.Fatalf("Begin after crash: %v", err)
	}
	if !slices.Equal(next.Abandoned, []int64{crashed.ID}) {
		t.Errorf("Abandoned: got %v, want [%d]", next.Abandoned, crashed.ID)
	}
	if err := crashed.Finish(ctx, nil, []string{"monthly/2025-09/index.html"}, 1); err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("Finish of the crashed run: got %v, want an error saying it was abandoned", err)
	}
	if err := next.Finish(ctx, nil, nil, 0); err != nil {
		t.Fatalf("Finish: %v", err)
	}

	runs, err := l.Recent(ctx, 5)
	if err != nil || len(runs) != 2 {
		t.Fatalf("Recent: %v, %v; want 2 runs", runs, err)
	}
	if r := runs[1]; r.ID != crashed.ID || r.Status != runlog.StatusFailed || !strings.HasPrefix(r.Error, "abandoned") || r.FinishedAt == nil || len(r.PublishedKeys) != 0 {
		t.Errorf("crashed run row: %+v; want failed, abandoned, nothing published", r)
	}
	if r := runs[0]; r.ID != next.ID || r.Status != runlog.StatusSucceeded {
		t.Errorf("next run row: %+v; want succeeded", r)
	}
}

// Ensures a waiting Begin stops when its context is cancelled, and a run stopped by
// cancellation still records its failure.
func TestCancel(t *testing.T) {
	pool := pgtest.Pool(t)
	l := runlog.New(pool, runlog.Options{Wait: time.Hour, Poll: 50 * time.Millisecond})

	runCtx, stop := context.WithCancel(context.Background())
	held, err := l.Begin(runCtx, "retention", "2025-10-01")
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}

	waitCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Begin(waitCtx, "retention", "2025-10-01")
		done <- err
	}()
	testkit.Eventually(t, 30*time.Second, "the second Begin is waiting for the lock", func() bool {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'aispend run retention 2025-10-01' AND datname = current_database()`).Scan(&n)
		return err == nil && n == 2
	})
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Begin: got %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("cancelled Begin did not return")
	}

	stop() // SIGTERM during the run
	if held.Context().Err() == nil {
		t.Errorf("run context not cancelled with its parent")
	}
	if err := held.Finish(runCtx, held.Context().Err(), nil, 0); err != nil {
		t.Fatalf("Finish with a cancelled context: %v", err)
	}
	runs, err := l.Recent(context.Background(), 1)
	if err != nil || len(runs) != 1 || runs[0].Status != runlog.StatusFailed || runs[0].Error != "context canceled" {
		t.Errorf("Recent: %+v, %v; want one failed run with error \"context canceled\"", runs, err)
	}
	if _, err := l.Begin(context.Background(), "", "2025-10-01"); err == nil {
		t.Errorf("Begin without a kind: want an error")
	}
}

// Ensures that with no wait a held key fails at once, and that listing without the schema
// says how to create it.
func TestNoWaitAndNoSchema(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	l := runlog.New(pool, runlog.Options{})
	held, err := l.Begin(ctx, "budget-check", "2025-10-01")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Begin(ctx, "budget-check", "2025-10-01")
	if !errors.Is(err, runlog.ErrBusy) || strings.Contains(err.Error(), "waiting") {
		t.Errorf("no-wait Begin: got %v, want ErrBusy without a wait", err)
	}
	if err := held.Finish(ctx, nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DROP TABLE runs"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Recent(ctx, 5); err == nil || !strings.Contains(err.Error(), "aispend migrate") {
		t.Errorf("Recent without the table: %v", err)
	}
}
