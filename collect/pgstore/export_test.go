package pgstore

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
)

// WatchCopyBuffers calls put for every COPY buffer returned to the pool until restore is
// called.
func WatchCopyBuffers(put func(*bytes.Buffer)) (restore func()) {
	old := putCopyBuf
	putCopyBuf = func(b *bytes.Buffer) { put(b); old(b) }
	return func() { putCopyBuf = old }
}

// CopyRowsTerminated COPYs rows into events on a connection whose backend admin terminates
// (pg_terminate_backend) once the COPY has begun: the server ends it with a fatal error.
func CopyRowsTerminated(ctx context.Context, pool, admin *pgxpool.Pool, rows []collect.Row) error {
	return copyInto(ctx, terminatingCopier{pool, admin}, "events", ptrs(rows))
}

type terminatingCopier struct{ pool, admin *pgxpool.Pool }

func (c terminatingCopier) copy(ctx context.Context, sql string, data *bytes.Buffer) error {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pid := conn.Conn().PgConn().PID()
	r := &hookReader{r: data, before: func() {
		// Terminate the backend and wait until it is gone, so that the rest of the COPY meets
		// a dead server.
		c.admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
		for i := 0; i < 1000; i++ {
			var alive bool
			if c.admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)", pid).Scan(&alive) != nil || !alive {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}}
	_, err = conn.Conn().PgConn().CopyFrom(ctx, r, sql)
	return err
}

// hookReader calls before once, ahead of the first read, and reads no more than 4 KiB at a
// time, so that the COPY is still sending when the hook has run.
type hookReader struct {
	r      io.Reader
	before func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.before != nil {
		h.before()
		h.before = nil
	}
	if len(p) > 4096 {
		p = p[:4096]
	}
	return h.r.Read(p)
}

// MigrateTo applies the migrations up to version, for tests of a migration on older data.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	return migrateTo(ctx, pool, version)
}
