// Package runlog records every batch run in the runs table and keeps two runs of the same kind
// and period from overlapping, whichever process or machine starts them.
//
// Begin takes a PostgreSQL session advisory lock for (kind, period) on a connection of its own,
// held until Finish. A second run of the same key waits for it (bounded by Options.Wait) and
// then fails with a *BusyError naming the run that holds it. The lock dies with the session, so
// a crashed run never blocks the next one; its row, left 'running', is marked failed
// ('abandoned') by the next Begin of the same key.
//
// The lock is a session lock: the database URL must reach PostgreSQL directly, not through a
// PgBouncer in transaction pooling mode.
package runlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Run statuses, as stored in runs.status.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// ErrBusy matches (errors.Is) the *BusyError returned by Begin when another run holds the key.
var ErrBusy = errors.New("run already in progress")

// ErrLockLost is the cause of a run context's cancellation when the connection holding the
// run's lock fails: another run of the same key could start, so this one must stop.
var ErrLockLost = errors.New("lost the run lock: its database connection failed")

// errFinished is the cause of a run context's cancellation after Finish.
var errFinished = errors.New("run finished")

// Run is one row of the runs table. A Run returned by Begin also holds the run's lock until
// Finish; a Run returned by Recent is a plain record.
type Run struct {
	ID            int64
	Kind          string
	Period        string
	StartedAt     time.Time
	FinishedAt    *time.Time // nil while running
	Status        string     // StatusRunning, StatusSucceeded or StatusFailed
	Error         string
	PublishedKeys []string
	AlertsSent    int
	Host          string
	PID           int

	// Abandoned lists the runs of the same kind and period that Begin found left 'running'
	// by a process that died, and marked failed. Set by Begin only.
	Abandoned []int64

	held *held
}

// held is the live part of a run started by Begin.
type held struct {
	mu       sync.Mutex // serialises use of conn (pgx.Conn is not safe for concurrent use)
	conn     *LockConn
	pool     *pgxpool.Pool
	ctx      context.Context
	cancel   context.CancelCauseFunc
	stop     chan struct{}
	watchEnd chan struct{}
	finished bool
}

// Options tune Begin. The zero value waits not at all.
type Options struct {
	// Wait bounds how long Begin waits for a running run of the same kind and period to
	// finish before it gives up with a *BusyError. 0 gives up at once.
	Wait time.Duration
	// Poll is how often Begin retries the lock while waiting. Default 250ms.
	Poll time.Duration
	// Heartbeat is how often a started run checks the connection that holds its lock; when it
	// fails the run's context is cancelled with ErrLockLost. Default 15s.
	Heartbeat time.Duration
	// Logger receives what Do notices on the way (runs it marked abandoned). Default: discard.
	Logger *slog.Logger
}

// Log starts, finishes and lists runs.
type Log struct {
	pool *pgxpool.Pool
	opts Options
	host string
	pid  int
}

// New returns a Log on pool. The lock of each run is held on a separate connection opened
// with pool's connection settings, so it never takes a connection from the pool.
func New(pool *pgxpool.Pool, opts Options) *Log {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return &Log{pool: pool, opts: opts, host: host, pid: os.Getpid()}
}

// BusyError says which run holds the (kind, period) that Begin waited for.
type BusyError struct {
	Kind, Period string
	Waited       time.Duration
	// Holder is the 'running' row of the run that holds the lock; nil when the holder has
	// taken the lock but not yet recorded its row.
	Holder *Run
}

func (e *BusyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s run for %s is already in progress", e.Kind, e.Period)
	if h := e.Holder; h != nil {
		fmt.Fprintf(&b, ": run %d on host %s (pid %d), started %s", h.ID, h.Host, h.PID, h.StartedAt.Format(time.RFC3339))
	} else {
		b.WriteString(" in another session")
	}
	if e.Waited > 0 {
		fmt.Fprintf(&b, "; gave up after waiting %s", e.Waited.Round(time.Millisecond))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// lockKey names the advisory lock of (kind, period).
func lockKey(kind, period string) string { return "aispend run " + kind + " " + period }

// Begin starts a run of kind for period: it takes the run lock (waiting up to Options.Wait for
// a run of the same key to finish), marks runs of the same key left behind by dead processes
// as failed, and records the new run as running. Call Finish exactly once on the result; use
// Context for the run's work so that it stops if the lock is lost.
func (l *Log) Begin(ctx context.Context, kind, period string) (*Run, error) {
	if kind == "" || period == "" {
		return nil, fmt.Errorf("begin run: kind and period are required (got %q, %q)", kind, period)
	}
	// The application name shows in pg_stat_activity which session holds which period.
	conn, err := DialLock(ctx, l.pool.Config().ConnConfig, lockKey(kind, period))
	if err != nil {
		return nil, fmt.Errorf("begin %s run for %s: connect: %w", kind, period, err)
	}
	if err := l.waitLock(ctx, conn, kind, period); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	r, err := l.record(ctx, conn, kind, period)
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("begin %s run for %s: record run: %w", kind, period, err)
	}
	h := &held{conn: conn, pool: l.pool, stop: make(chan struct{}), watchEnd: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancelCause(ctx)
	r.held = h
	go h.watch(l.opts.Heartbeat)
	return r, nil
}

// waitLock takes the run lock of (kind, period) on conn, retrying every Options.Poll for up to
// Options.Wait; then it gives up with a *BusyError naming the holder.
func (l *Log) waitLock(ctx context.Context, conn *LockConn, kind, period string) error {
	start := time.Now()
	deadline := start.Add(l.opts.Wait)
	for {
		ok, err := conn.TryLock(ctx, lockKey(kind, period))
		if err != nil {
			return fmt.Errorf("begin %s run for %s: %w", kind, period, err)
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			busy := &BusyError{Kind: kind, Period: period}
			if l.opts.Wait > 0 {
				busy.Waited = time.Since(start)
			}
			holder, err := runningRow(ctx, conn, kind, period)
			if err != nil {
				return fmt.Errorf("%w (read holder: %v)", busy, err)
			}
			busy.Holder = holder
			return busy
		}
		t := time.NewTimer(min(l.opts.Poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("begin %s run for %s: wait for lock: %w", kind, period, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// record marks the runs of (kind, period) left 'running' as abandoned and records the new run.
// Holding the lock, no live run of this key exists: any 'running' row of it is left over from a
// process that died (its lock went with its session).
func (l *Log) record(ctx context.Context, conn *LockConn, kind, period string) (*Run, error) {
	r := &Run{Kind: kind, Period: period, Status: StatusRunning, Host: l.host, PID: l.pid}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, qRunAbandon, kind, period)
		if err != nil {
			return err
		}
		if r.Abandoned, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, qRunInsert, kind, period, l.host, l.pid).Scan(&r.ID, &r.StartedAt)
	})
	return r, err
}

// Outcome is what a run reports for its row in the runs table.
type Outcome struct {
	PublishedKeys []string
	AlertsSent    int
}

// Do runs work as one recorded run of kind for period: Begin (waiting up to Options.Wait for a
// run of the same key, or failing naming the run that holds it), work, Finish with its outcome.
// work gets the run's Context, also cancelled if the run's lock is lost. Every command that runs
// the batch goes through Do, so that cron, the scheduler and manual runs exclude each other.
func (l *Log) Do(ctx context.Context, kind, period string, work func(context.Context) (Outcome, error)) error {
	run, err := l.Begin(ctx, kind, period)
	if err != nil {
		return err
	}
	if len(run.Abandoned) > 0 {
		l.opts.Logger.Warn("marked runs of a dead process as failed (abandoned)", "kind", kind, "period", period, "run_ids", run.Abandoned)
	}
	out, workErr := work(run.Context())
	if err := run.Finish(ctx, workErr, out.PublishedKeys, out.AlertsSent); err != nil {
		return errors.Join(workErr, err)
	}
	return workErr
}

// watch pings the lock connection; if it fails the lock may be gone, so the run is cancelled.
func (h *held) watch(every time.Duration) {
	defer close(h.watchEnd)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.conn.Ping(pctx)
		cancel()
		h.mu.Unlock()
		if err != nil {
			h.cancel(fmt.Errorf("%w: %v", ErrLockLost, err))
			return
		}
	}
}

// Context is the context for the run's work: the one given to Begin, also cancelled (with
// cause ErrLockLost) if the connection holding the run's lock fails, and after Finish.
// For a Run that Begin did not return it is context.Background().
func (r *Run) Context() context.Context {
	if r.held == nil {
		return context.Background()
	}
	return r.held.ctx
}

// maxErrorLen bounds the stored error text; a run's error is a summary, not a log.
const maxErrorLen = 8000

// Finish records the run's outcome (failed when runErr is not nil, with its message) and
// releases the run lock. It works even when ctx is already cancelled (a run stopped by
// SIGTERM still records that it failed). It is an error to call Finish twice.
func (r *Run) Finish(ctx context.Context, runErr error, publishedKeys []string, alertsSent int) error {
	h := r.held
	if h == nil {
		return fmt.Errorf("finish run %d: not a run started by Begin", r.ID)
	}
	h.mu.Lock()
	if h.finished {
		h.mu.Unlock()
		return fmt.Errorf("finish run %d: already finished", r.ID)
	}
	h.finished = true
	h.mu.Unlock()
	close(h.stop)
	<-h.watchEnd
	defer h.cancel(errFinished)

	status, msg := StatusSucceeded, ""
	if runErr != nil {
		status, msg = StatusFailed, truncate(runErr.Error(), maxErrorLen)
	}
	if publishedKeys == nil {
		publishedKeys = []string{}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var finished time.Time
	err := h.conn.QueryRow(fctx, qRunFinish, r.ID, status, msg, publishedKeys, alertsSent).Scan(&finished)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		// The lock connection broke: record the outcome through the pool, unless a later run
		// already marked this one abandoned (then it is not 'running' and nothing changes).
		err = h.pool.QueryRow(fctx, qRunFinish, r.ID, status, msg, publishedKeys, alertsSent).Scan(&finished)
	}
	_ = h.conn.Unlock(fctx, lockKey(r.Kind, r.Period))
	h.conn.Close(fctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("finish run %d: it was marked abandoned by a later run (its lock had been lost)", r.ID)
	}
	if err != nil {
		return fmt.Errorf("finish run %d: record outcome: %w", r.ID, err)
	}
	r.Status, r.Error, r.PublishedKeys, r.AlertsSent, r.FinishedAt = status, msg, publishedKeys, alertsSent, &finished
	return nil
}

func scanRun(row pgx.CollectableRow) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Kind, &r.Period, &r.StartedAt, &r.FinishedAt, &r.Status, &r.Error,
		&r.PublishedKeys, &r.AlertsSent, &r.Host, &r.PID)
	return r, err
}

// Recent returns the n most recently started runs, newest first.
func (l *Log) Recent(ctx context.Context, n int) ([]Run, error) {
	if n < 1 {
		return nil, fmt.Errorf("list runs: limit must be at least 1, got %d", n)
	}
	rows, err := l.pool.Query(ctx, qRunsRecent, n)
	if err != nil {
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" {
			return nil, fmt.Errorf("list runs: no runs table yet (apply the schema with `aispend migrate`): %w", err)
		}
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// runningRow reads the newest 'running' row of (kind, period), or nil when there is none.
func runningRow(ctx context.Context, conn *LockConn, kind, period string) (*Run, error) {
	rows, err := conn.Query(ctx, qRunRunning, kind, period)
	if err != nil {
		return nil, err
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}
