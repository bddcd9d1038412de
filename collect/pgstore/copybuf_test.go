package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures a COPY buffer goes back to the pool only after its COPY succeeded. When PostgreSQL
// ends a COPY with an error (here a refused row, and a backend terminated mid-COPY), pgx may
// return while its goroutine still reads the buffer; a pooled buffer would then be reused
// under it (run with -race to see the reuse itself).
func TestFailedCopyDropsBuffer(t *testing.T) {
	pool := pgtest.Pool(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	var mu sync.Mutex
	var puts []*bytes.Buffer
	defer pgstore.WatchCopyBuffers(func(b *bytes.Buffer) {
		mu.Lock()
		defer mu.Unlock()
		puts = append(puts, b)
	})()
	putCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(puts)
	}
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	rows := func(prefix string, n int) []collect.Row {
		var rs []collect.Row
		for i := 0; i < n; i++ {
			rs = append(rs, eventtest.Row(fmt.Sprintf("%s-%d", prefix, i), at))
		}
		return rs
	}

	if err := pgstore.CopyInto(ctx, pool, "events", rows("ok", 10)); err != nil {
		t.Fatal(err)
	}
	if putCount() != 1 {
		t.Fatalf("successful COPY: %d buffers returned to the pool, want 1", putCount())
	}

	bad := rows("bad", 10)
	bad[5].Model = "nul\x00byte"
	if err := pgstore.CopyInto(ctx, pool, "events", bad); err == nil {
		t.Fatal("COPY of a NUL byte succeeded")
	}
	if putCount() != 1 {
		t.Fatal("COPY refused by the server: its buffer went back to the pool")
	}

	if err := pgstore.CopyRowsTerminated(ctx, pool, admin, rows("term", 20000)); err == nil {
		t.Fatal("COPY on a terminated backend succeeded")
	}
	if putCount() != 1 {
		t.Fatal("COPY on a terminated backend: its buffer went back to the pool")
	}
	// The pool still works, and later COPYs reuse nothing that pgx may still read.
	for i := 0; i < 5; i++ {
		if err := pgstore.CopyInto(ctx, pool, "events", rows(fmt.Sprint("after", i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if putCount() != 6 {
		t.Fatalf("%d buffers returned to the pool, want 6", putCount())
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil || n != 5010 {
		t.Fatalf("rows = %d (%v), want 5010", n, err)
	}
}
