package pgquery_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// Ensures Events lists exactly the events of the half-open range, oldest first, with every
// column mapped (NULL cost stays unpriced, absent duration stays nil, tags as JSON), and stops at
// the first error of emit.
func TestEventsOfPeriod(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	p := report.PeriodContaining(report.Daily, time.Date(2026, 10, 1, 12, 0, 0, 0, seoul), seoul)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	rows := []collect.Row{
		{EventID: "b-late", OccurredAt: p.End.Add(-time.Nanosecond * 1000), Service: "S2", Model: "m2", Provider: "openai",
			InputTokens: 10, OutputTokens: 20, CacheReadTokens: 3, CacheWriteTokens: 2, ReasoningTokens: 5,
			CostSource: "none", DurationMS: -1 << 63, Success: false, Error: "=cmd|' /C calc'!A0", CacheHit: true,
			UserID: "u1", OrgID: "o1", Endpoint: "/v1/chat", Tags: []byte(`{"team":"search"}`)},
		{EventID: "a-first", OccurredAt: p.Start, Service: "S1", Model: "m1", InputTokens: 1, OutputTokens: 2,
			CostSource: "provider", Cost: decimal.NewNullDecimal(decimal.RequireFromString("0.000000123456789")),
			DurationMS: 250, Success: true},
		{EventID: "before", OccurredAt: p.Start.Add(-time.Microsecond), Service: "S", Model: "m", CostSource: "none", DurationMS: -1 << 63, Success: true},
		{EventID: "after", OccurredAt: p.End, Service: "S", Model: "m", CostSource: "none", DurationMS: -1 << 63, Success: true},
	}
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	st := pgquery.New(pool)
	var got []report.Event
	if err := st.Events(ctx, p.Start, p.End, func(e report.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventID != "a-first" || got[1].EventID != "b-late" {
		t.Fatalf("events %+v; want a-first then b-late", got)
	}
	a, b := got[0], got[1]
	if !a.Cost.Valid || a.Cost.Decimal.String() != "0.000000123456789" || a.CostSource != "provider" || a.DurationMS == nil || *a.DurationMS != 250 ||
		!a.Success || a.UserID != "" || a.Tags != "" || !a.OccurredAt.Equal(p.Start) {
		t.Errorf("first event %+v", a)
	}
	if b.Cost.Valid || b.DurationMS != nil || b.Success || !b.CacheHit || b.Error != "=cmd|' /C calc'!A0" || b.Provider != "openai" ||
		b.InputTokens != 10 || b.OutputTokens != 20 || b.CacheReadTokens != 3 || b.CacheWriteTokens != 2 || b.ReasoningTokens != 5 ||
		b.UserID != "u1" || b.OrgID != "o1" || b.Endpoint != "/v1/chat" || b.Tags != `{"team": "search"}` {
		t.Errorf("second event %+v", b)
	}
	stop := errors.New("stop")
	n := 0
	err := st.Events(ctx, p.Start, p.End, func(report.Event) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("emit error: %v after %d events; want stop after 1", err, n)
	}
}

// Ensures Events hands rows over as they arrive: listing 80 MB of events keeps the Go heap far
// below the size of the data (a client that collected the rows first would hold all of it).
func TestEventsStreamWithFlatMemory(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	const n, textBytes = 40_000, 2_000
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	if _, err := pool.Exec(ctx, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, error)
		SELECT 'e' || lpad(g::text, 6, '0'), $1::timestamptz + g * interval '1 second', 'S', 'm', 1, 1, 0.001, 'local', repeat('x', $2)
		FROM generate_series(1, $3) g`, start, textBytes, n); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	count := 0
	var last time.Time
	err := pgquery.New(pool).Events(ctx, start, start.Add(24*time.Hour), func(e report.Event) error {
		if e.OccurredAt.Before(last) {
			return fmt.Errorf("event %s out of order", e.EventID)
		}
		last = e.OccurredAt
		count++
		if count%2000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return nil
	})
	if err != nil || count != n {
		t.Fatalf("streamed %d events: %v", count, err)
	}
	const data = n * textBytes // 80 MB
	t.Logf("heap grew by %d KB while streaming %d MB", (int64(peak)-int64(base))>>10, data>>20)
	if grew := int64(peak) - int64(base); grew > data/4 {
		t.Errorf("heap grew by %d MB while streaming %d MB of events: rows are being collected, not streamed", grew>>20, data>>20)
	}
}

// Ensures a period's digest is sent once: later calls do not call send, force sends again, a
// failed send stays pending and is retried, and a run that finds the row locked by another
// run's send skips it.
func TestSendDigestOnce(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	st := pgquery.New(pool)
	calls := 0
	send := func(context.Context) error { calls++; return nil }
	to := []string{"cfo@example.com"}

	if sent, err := st.DigestSent(ctx, "daily", "2026-10-01"); err != nil || sent {
		t.Fatalf("before any send: %v %v", sent, err)
	}
	if sent, err := st.SendDigest(ctx, "daily", "2026-10-01", "<d1@x>", to, false, send); err != nil || !sent || calls != 1 {
		t.Fatalf("first send: %v %v, %d calls", sent, err, calls)
	}
	if sent, err := st.SendDigest(ctx, "daily", "2026-10-01", "<d1@x>", to, false, send); err != nil || sent || calls != 1 {
		t.Fatalf("second send: %v %v, %d calls; want skipped", sent, err, calls)
	}
	if sent, err := st.SendDigest(ctx, "daily", "2026-10-01", "<d1@x>", to, true, send); err != nil || !sent || calls != 2 {
		t.Fatalf("forced send: %v %v, %d calls", sent, err, calls)
	}
	var sends int
	var rcpt []string
	if err := pool.QueryRow(ctx, "SELECT sends, recipients FROM digest_log WHERE kind = 'daily' AND period = '2026-10-01'").Scan(&sends, &rcpt); err != nil || sends != 2 || len(rcpt) != 1 {
		t.Errorf("recorded %d sends to %v: %v", sends, rcpt, err)
	}
	if sent, err := st.DigestSent(ctx, "daily", "2026-10-01"); err != nil || !sent {
		t.Errorf("DigestSent after sending: %v %v", sent, err)
	}

	// Another period; the other kind of the same label is a different digest.
	down := errors.New("421 service not available")
	_, err := st.SendDigest(ctx, "weekly", "2026-W40", "<w@x>", to, false, func(context.Context) error { return down })
	if !errors.Is(err, down) {
		t.Fatalf("failed send: %v", err)
	}
	if sent, _ := st.DigestSent(ctx, "weekly", "2026-W40"); sent {
		t.Error("a failed send is recorded as sent")
	}
	var inner bool
	sent, err := st.SendDigest(ctx, "weekly", "2026-W40", "<w@x>", to, false, func(ctx context.Context) error {
		// While this run sends, a concurrent run must not send too.
		var err error
		inner, err = st.SendDigest(ctx, "weekly", "2026-W40", "<w@x>", to, true, send)
		return err
	})
	if err != nil || !sent || inner {
		t.Errorf("retry: sent %v err %v; concurrent run sent %v", sent, err, inner)
	}
	var attempts int
	var lastErr *string
	pool.QueryRow(ctx, "SELECT attempts, last_error FROM digest_log WHERE kind = 'weekly'").Scan(&attempts, &lastErr)
	if attempts != 2 || lastErr != nil {
		t.Errorf("weekly digest: %d attempts, last error %v", attempts, lastErr)
	}
}
