package runlog

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// q returns the text of sql/name.sql; a missing file is a programming error caught by tests.
func q(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic("runlog: missing query " + name)
	}
	return string(b)
}

var (
	qLockTry     = q("lock_try")
	qLockRelease = q("lock_release")
	qRunAbandon  = q("run_abandon")
	qRunInsert   = q("run_insert")
	qRunFinish   = q("run_finish")
	qRunsRecent  = q("runs_recent")
	qRunRunning  = q("run_running")
)

// LockConn is a connection of its own (never pooled, so that a pool can neither hand it to other
// work nor close it) on which PostgreSQL session advisory locks are taken by name. A session
// lock lasts exactly as long as its session, so when the process or the connection dies the lock
// is freed and nobody waits for a dead holder. The run lock (Begin) and the scheduler's
// leadership (package schedule) are both held on one. Like pgx.Conn, it is not safe for
// concurrent use.
//
// It must reach PostgreSQL directly, not through PgBouncer in transaction pooling mode, where a
// session lock would be held by whichever client the server connection serves next.
type LockConn struct{ *pgx.Conn }

// closeTimeout bounds closing a lock connection, also when the caller's context is done.
const closeTimeout = 5 * time.Second

// DialLock opens a LockConn with cc's settings, named application in pg_stat_activity, so that
// an operator can see which session holds which lock.
func DialLock(ctx context.Context, cc *pgx.ConnConfig, application string) (*LockConn, error) {
	cc = cc.Copy()
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = truncate(application, 63) // NAMEDATALEN - 1
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	return &LockConn{conn}, nil
}

// TryLock takes the lock called name if no other session holds it, and reports whether it did.
func (c *LockConn) TryLock(ctx context.Context, name string) (bool, error) {
	var ok bool
	if err := c.QueryRow(ctx, qLockTry, name).Scan(&ok); err != nil {
		return false, fmt.Errorf("take lock %q: %w", name, err)
	}
	return ok, nil
}

// Unlock releases the lock called name. Closing the connection releases it too, but only once
// the server has noticed the session end: unlocking first lets a waiting session go on at once.
func (c *LockConn) Unlock(ctx context.Context, name string) error {
	if _, err := c.Exec(ctx, qLockRelease, name); err != nil {
		return fmt.Errorf("release lock %q: %w", name, err)
	}
	return nil
}

// Close ends the session, and with it every lock it holds, within closeTimeout even when ctx is
// already done.
func (c *LockConn) Close(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	_ = c.Conn.Close(cctx)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
