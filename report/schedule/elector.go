package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report/runlog"
)

// errNotLeader tells gocron to skip a run: another replica holds the leadership lock.
var errNotLeader = errors.New("not the leader: another replica holds the scheduler lock")

// errLeadershipLost cancels running jobs when this replica stops being the leader, so that a
// job never runs on two replicas at once.
var errLeadershipLost = errors.New("lost scheduler leadership")

// elector is a gocron.Elector: the replica whose session holds the advisory lock called lock is
// the leader. The lock lives on a runlog.LockConn and goes away with its session, so when the
// leader's process or connection dies another replica takes over at its next check.
type elector struct {
	cfg  *pgx.ConnConfig
	app  string // the connection's application_name
	lock string
	log  *slog.Logger

	mu        sync.Mutex // guards everything below; a connection is not safe for concurrent use
	conn      *runlog.LockConn
	leader    bool
	term      context.Context // the current leadership term; nil when not leader
	endTerm   context.CancelCauseFunc
	lastErr   string // the last failure logged, to log a persistent failure once
	following bool   // the last check found another leader (logged once per change)
}

// checkTimeout bounds one connect, ping or lock attempt.
const checkTimeout = 5 * time.Second

// IsLeader implements gocron.Elector: nil means this replica runs the job now. gocron calls it
// before every run, possibly from several goroutines at once.
func (e *elector) IsLeader(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Not interrupted by the job's cancellation: a query cut short would cost the connection,
	// and with it the lock, while other jobs may still be running.
	return e.check(context.WithoutCancel(ctx))
}

func (e *elector) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if e.conn == nil {
		conn, err := runlog.DialLock(ctx, e.cfg, e.app)
		if err != nil {
			return e.fail(fmt.Errorf("connect for scheduler lock: %w", err))
		}
		e.conn = conn
	}
	if e.leader {
		// A session lock lasts as long as its session: a live connection means we still lead.
		if err := e.conn.Ping(ctx); err != nil {
			return e.fail(fmt.Errorf("check scheduler lock connection: %w", err))
		}
		return nil
	}
	ok, err := e.conn.TryLock(ctx, e.lock)
	if err != nil {
		return e.fail(fmt.Errorf("try scheduler lock: %w", err))
	}
	if !ok {
		e.lastErr = ""
		if !e.following {
			e.following = true
			e.log.Info("another replica is the scheduler leader: standing by")
		}
		return errNotLeader
	}
	e.following = false
	e.leader = true
	e.lastErr = ""
	e.term, e.endTerm = context.WithCancelCause(context.Background())
	e.log.Info("became the scheduler leader: this replica runs the jobs")
	return nil
}

// fail drops the connection, and with it leadership: a connection we cannot use may still hold
// the lock on the server, but closing it ends the session and frees the lock for another
// replica. Running jobs are cancelled.
func (e *elector) fail(err error) error {
	if msg := err.Error(); msg != e.lastErr {
		e.log.Warn("scheduler leadership check failed", "error", err)
		e.lastErr = msg
	}
	e.dropConn()
	return err
}

func (e *elector) dropConn() {
	if e.leader {
		e.leader = false
		e.endTerm(errLeadershipLost)
		e.term, e.endTerm = nil, nil
		e.log.Warn("no longer the scheduler leader")
	}
	if e.conn != nil {
		e.conn.Close(context.Background())
		e.conn = nil
	}
}

// termContext returns the context of the current leadership term, cancelled when leadership is
// lost, or nil when this replica is not the leader.
func (e *elector) termContext() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.term
}

// watch checks leadership every interval until stop is closed: the leader notices a dead
// connection while its jobs run, and followers take over promptly when the leader goes.
func (e *elector) watch(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.mu.Lock()
		_ = e.check(context.Background())
		e.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// close releases the lock by ending the session. Call it only once no job runs any more.
func (e *elector) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader {
		// Unlock before closing, so that a follower need not wait for the server to notice.
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		_ = e.conn.Unlock(ctx, e.lock)
		cancel()
		e.leader = false
		e.endTerm(context.Canceled)
		e.term, e.endTerm = nil, nil
		e.log.Info("released scheduler leadership")
	}
	e.dropConn()
}
