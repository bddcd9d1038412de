package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/schedule"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replica is one running schedule.Run, as a separate process would be.
type replica struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, url, name string, jobs ...schedule.Job) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{name: name, cancel: cancel, done: make(chan error, 1)}
	opts := schedule.Options{
		Location:   time.UTC,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)).With("replica", name),
		Instance:   name,
		CheckEvery: 200 * time.Millisecond,
		Seconds:    true,
	}
	go func() { r.done <- schedule.Run(ctx, url, jobs, opts) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the replica (SIGTERM) and waits for Run to return; it must return nil.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("replica %s: Run returned %v, want nil", r.name, err)
		}
	case <-time.After(time.Minute):
		t.Errorf("replica %s: Run did not return within a minute of cancellation", r.name)
	}
	r.done = nil
}

// tickDB is a database with a table where the test job records each run.
func tickDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.URL(t)
	pool := pgtest.Connect(t, url)
	// No unique key on purpose: a tick run twice must show up as two rows.
	if _, err := pool.Exec(context.Background(), `CREATE TABLE ticks (
		tick timestamptz NOT NULL, replica text NOT NULL, ran_at timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		t.Fatal(err)
	}
	return url, pool
}

// tickJob records (tick, replica) every second; the tick is the second the run started in.
func tickJob(pool *pgxpool.Pool, replica string) schedule.Job {
	return schedule.Job{Name: "tick", Cron: "* * * * * *", Run: func(ctx context.Context) error {
		_, err := pool.Exec(ctx, "INSERT INTO ticks (tick, replica) VALUES ($1, $2)", time.Now().Truncate(time.Second), replica)
		return err
	}}
}

type tickRow struct {
	Tick    time.Time
	Replica string
	RanAt   time.Time
}

func ticks(t *testing.T, pool *pgxpool.Pool) []tickRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT tick, replica, ran_at FROM ticks ORDER BY ran_at")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tickRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countBy(rows []tickRow, replica string, after time.Time) int {
	n := 0
	for _, r := range rows {
		if r.Replica == replica && r.RanAt.After(after) {
			n++
		}
	}
	return n
}

// checkOnce fails if any tick was run more than once (by either replica).
func checkOnce(t *testing.T, rows []tickRow) {
	t.Helper()
	seen := map[time.Time]string{}
	for _, r := range rows {
		if prev, ok := seen[r.Tick]; ok {
			t.Errorf("tick %s ran twice (by %s and %s); all rows: %+v", r.Tick.Format(time.TimeOnly), prev, r.Replica, rows)
		}
		seen[r.Tick] = r.Replica
	}
}

func dbNow(t *testing.T, pool *pgxpool.Pool) time.Time {
	t.Helper()
	var now time.Time
	if err := pool.QueryRow(context.Background(), "SELECT clock_timestamp()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// waitMidSecond returns after the next run has been recorded plus a little, so that the next
// step happens between two ticks rather than while both replicas check leadership for one.
func waitMidSecond(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	n := len(ticks(t, pool))
	testkit.Eventually(t, 30*time.Second, "another tick is recorded", func() bool { return len(ticks(t, pool)) > n })
	time.Sleep(300 * time.Millisecond)
}

// leaderOf returns the only replica that has run the job so far.
func leaderOf(t *testing.T, rows []tickRow) (leader, follower string) {
	t.Helper()
	for _, r := range rows {
		if r.Replica != rows[0].Replica {
			t.Fatalf("both replicas ran the job while both were alive: %+v", rows)
		}
	}
	if rows[0].Replica == "A" {
		return "A", "B"
	}
	return "B", "A"
}

// Ensures two replicas on one database run each tick exactly once, on the leader only, and
// that stopping the leader (SIGTERM) moves the work to the other replica.
func TestLeaderStops(t *testing.T) {
	url, pool := tickDB(t)
	replicas := map[string]*replica{
		"A": start(t, url, "A", tickJob(pool, "A")),
		"B": start(t, url, "B", tickJob(pool, "B")),
	}
	testkit.Eventually(t, 60*time.Second, "5 ticks are recorded", func() bool { return len(ticks(t, pool)) >= 5 })
	leader, follower := leaderOf(t, ticks(t, pool))

	waitMidSecond(t, pool)
	stopped := dbNow(t, pool)
	replicas[leader].stop(t)

	testkit.Eventually(t, 60*time.Second, "the follower runs 4 ticks after the leader stopped", func() bool {
		return countBy(ticks(t, pool), follower, stopped) >= 4
	})
	replicas[follower].stop(t)

	rows := ticks(t, pool)
	checkOnce(t, rows)
	if n := countBy(rows, follower, time.Time{}) - countBy(rows, follower, stopped); n != 0 {
		t.Errorf("follower %s ran %d ticks before the leader stopped: %+v", follower, n, rows)
	}
}

// Ensures that when the leader's database session dies (its connection is killed), the other
// replica takes over, and the old leader, which reconnects, stays a follower.
func TestLeaderConnectionLost(t *testing.T) {
	url, pool := tickDB(t)
	start(t, url, "A", tickJob(pool, "A"))
	start(t, url, "B", tickJob(pool, "B"))
	testkit.Eventually(t, 60*time.Second, "3 ticks are recorded", func() bool { return len(ticks(t, pool)) >= 3 })
	leader, follower := leaderOf(t, ticks(t, pool))

	waitMidSecond(t, pool)
	killed := dbNow(t, pool)
	var n int
	err := pool.QueryRow(context.Background(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		 WHERE application_name = $1 AND datname = current_database()`, "aispend schedule "+leader).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the leader's session: %d sessions, %v", n, err)
	}

	testkit.Eventually(t, 60*time.Second, "the follower runs 4 ticks after the leader's session died", func() bool {
		return countBy(ticks(t, pool), follower, killed) >= 4
	})
	// The old leader is alive and checking leadership all along; it must not run again.
	testkit.Eventually(t, 30*time.Second, "the old leader has reconnected as a follower", func() bool {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, "aispend schedule "+leader).Scan(&n)
		return err == nil && n == 1
	})
	waitMidSecond(t, pool)
	rows := ticks(t, pool)
	checkOnce(t, rows)
	if n := countBy(rows, leader, killed); n != 0 {
		t.Errorf("old leader %s ran %d ticks after its session was killed: %+v", leader, n, rows)
	}
}

// Ensures a run never overlaps itself, and that on shutdown a running job's context is
// cancelled, Run returns nil, and the leadership lock is released.
func TestShutdownCancelsRunningJob(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	var runs, running, overlaps atomic.Int32
	started := make(chan struct{}, 10)
	cause := make(chan error, 1)
	r := start(t, url, "A", schedule.Job{Name: "slow", Cron: "* * * * * *", Run: func(ctx context.Context) error {
		runs.Add(1)
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		started <- struct{}{}
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	}})
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the job did not start within a minute")
	}

	probe, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close(ctx)
	tryLock := func() bool {
		var ok bool
		if err := probe.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", schedule.DefaultLockName).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if tryLock() {
		t.Fatal("the leadership lock is free while the leader runs a job")
	}

	// Ticks pass while the job runs; none may start a second run.
	time.Sleep(2500 * time.Millisecond)
	r.stop(t)
	select {
	case err := <-cause:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("job context cause: %v, want context.Canceled", err)
		}
	default:
		t.Error("the running job's context was not cancelled by shutdown")
	}
	if n := runs.Load(); n != 1 || overlaps.Load() != 0 {
		t.Errorf("runs: %d, overlaps: %d; want 1 run while the first never returned", n, overlaps.Load())
	}
	if !tryLock() {
		t.Error("the leadership lock is still held after Run returned")
	}
}

// Ensures bad jobs are refused before anything runs, naming the job and the problem.
func TestInvalidJobs(t *testing.T) {
	// Jobs are checked before any connection is made.
	url := "postgres://nobody@127.0.0.1:1/none"
	ok := func(context.Context) error { return nil }
	cases := []struct {
		jobs []schedule.Job
		want string
	}{
		{nil, "no jobs"},
		{[]schedule.Job{{Name: "daily", Cron: "0 9 * *", Run: ok}}, `job "daily": invalid cron expression "0 9 * *": expected exactly 5 fields`},
		{[]schedule.Job{{Name: "daily", Cron: "0 25 * * *", Run: ok}}, `job "daily": invalid cron expression "0 25 * * *"`},
		{[]schedule.Job{{Name: "daily", Cron: "", Run: ok}}, `job "daily": empty cron expression`},
		{[]schedule.Job{{Name: "a", Cron: "@daily", Run: ok}, {Name: "a", Cron: "@hourly", Run: ok}}, `job name "a" used twice`},
		{[]schedule.Job{{Name: "a", Cron: "@daily"}}, `job "a" has no function`},
		{[]schedule.Job{{Cron: "@daily", Run: ok}}, `job 0 has no name`},
	}
	for _, c := range cases {
		err := schedule.Run(context.Background(), url, c.jobs, schedule.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.jobs, err, c.want)
		}
	}
	for expr, valid := range map[string]bool{
		"*/15 * * * *": true, "0 9 * * *": true, "0 9 * * 1": true, "0 9 1 * *": true, "30 3 * * *": true, "@daily": true,
		"* * * * * *": false, "0 9 * *": false, "0 9 32 * *": false, "nonsense": false,
		"TZ=Asia/Seoul 0 9 * * *": true, "TZ=": false, "CRON_TZ=Asia/Seoul": false, // a bare prefix panicked in robfig/cron
	} {
		if err := schedule.CheckCron(expr); (err == nil) != valid {
			t.Errorf("CheckCron(%q) = %v; want valid %v", expr, err, valid)
		}
	}
	if err := schedule.CheckCron("0 9 * *"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("CheckCron message should be one line: %q", fmt.Sprint(err))
	}
}
