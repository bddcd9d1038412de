package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/client"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "tok"

// collector is a real collector (handler, group-committing store, PostgreSQL) served over
// loopback HTTP on a fixed address, so that it can be stopped and started again on the same
// port like a restarted process.
type collector struct {
	t    *testing.T
	pool *pgxpool.Pool
	addr string
	cfg  collect.Config

	srv      *http.Server
	store    *pgstore.Store
	handlers sync.WaitGroup
}

func newCollector(t *testing.T, cfg collect.Config) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if cfg.Tokens == nil {
		cfg.Tokens = []string{token}
	}
	if cfg.Prices == nil {
		cfg.Prices = pricing.New("USD", nil, nil)
	}
	c := &collector{t: t, pool: pgtest.Pool(t), addr: addr, cfg: cfg}
	c.serve(ln)
	t.Cleanup(c.stop)
	return c
}

func (c *collector) url() string { return "http://" + c.addr }

// handler is the collector's real handler; wrap lets a test put something in front of it.
func (c *collector) handler() http.Handler {
	c.store = pgstore.New(c.pool, pgstore.Options{})
	return collect.NewServer(c.cfg, slog.New(slog.DiscardHandler), c.store, c.pool, nil, nil)
}

func (c *collector) serve(ln net.Listener) {
	h := c.handler()
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.handlers.Add(1)
		defer c.handlers.Done()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: counted, ReadHeaderTimeout: 5 * time.Second}
	c.srv = srv
	go func() { _ = srv.Serve(ln) }() // not c.srv: stop may clear it before this runs
}

// stop kills the server abruptly, as a crash would: open connections are cut, in-flight
// requests get no answer (though their commit may still happen), then the store shuts down.
func (c *collector) stop() {
	if c.srv == nil {
		return
	}
	_ = c.srv.Close()
	c.handlers.Wait()
	c.store.Close()
	c.srv = nil
}

// start serves a fresh collector (new handler, new store) on the same address again.
func (c *collector) start() {
	c.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; binding it again normally works at once.
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", c.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("listen again on %s: %v", c.addr, err)
	}
	c.serve(ln)
}

// counts returns the number of stored rows and of distinct event ids.
func (c *collector) counts() (rows, ids int) {
	c.t.Helper()
	err := c.pool.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT event_id) FROM events").Scan(&rows, &ids)
	if err != nil {
		c.t.Fatalf("count events: %v", err)
	}
	return rows, ids
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

func event(i int) client.Event {
	return client.Event{
		Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic",
		InputTokens: int64(100 + i), OutputTokens: 50, UserID: fmt.Sprintf("user-%d", i%7),
	}
}

func closeClient(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v (stats %+v)", err, c.Stats())
	}
}

// Ensures every logged event is stored exactly once and counted as sent.
func TestBasic(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url()})
	const n = 250
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	closeClient(t, c)
	if rows, ids := col.counts(); rows != n || ids != n {
		t.Fatalf("stored %d rows with %d distinct ids, want %d", rows, ids, n)
	}
	if got := c.Stats(); got != (client.Stats{Sent: n}) {
		t.Fatalf("stats = %+v, want Sent %d and nothing else", got, n)
	}
}

// Ensures every field of Event reaches its column with the right meaning, the id and time
// chosen by the application are kept, and the ones Log fills in are stored.
func TestEventFieldsStored(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url()})
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("KST", 9*3600))
	cost := decimal.RequireFromString("0.000123456789012345")
	tags := map[string]string{"team": "search", "<b>": `"quoted"`}
	c.Log(client.Event{
		EventID: "full-1", OccurredAt: at, Service: "MATCH_EXPLANATION", Model: "gpt-5", Provider: "openai",
		InputTokens: 1000, OutputTokens: 400, CacheReadTokens: 600, CacheWriteTokens: 100, ReasoningTokens: 150,
		Cost: &cost, Currency: "USD", Duration: 1234567 * time.Microsecond, Failed: true, Error: "rate limited",
		CacheHit: true, UserID: "u1", OrgID: "o1", Endpoint: "/ask", Tags: tags,
	})
	tags["team"] = "changed after Log" // Log has encoded the event: this must not leak in
	before := time.Now()
	c.Log(client.Event{Service: "QA_CHAT", Model: "claude-sonnet-4-5", InputTokens: 1, OutputTokens: 2})
	closeClient(t, c)

	type row struct {
		id, service, model, provider, sentCost, sentCurrency, costSource, errText, userID, orgID, endpoint, tags string
		occurred                                                                                                 time.Time
		in, out, cr, cw, rs                                                                                      int64
		duration                                                                                                 *int64
		success, cacheHit                                                                                        bool
	}
	var r row
	err := col.pool.QueryRow(context.Background(), `
		SELECT event_id, service, model, provider, sent_cost::text, sent_currency, cost_source, error,
		       user_id, org_id, endpoint, tags::text, occurred_at, input_tokens, output_tokens,
		       cache_read_tokens, cache_write_tokens, reasoning_tokens, duration_ms, success, cache_hit
		FROM events WHERE event_id = 'full-1'`).Scan(&r.id, &r.service, &r.model, &r.provider, &r.sentCost,
		&r.sentCurrency, &r.costSource, &r.errText, &r.userID, &r.orgID, &r.endpoint, &r.tags, &r.occurred,
		&r.in, &r.out, &r.cr, &r.cw, &r.rs, &r.duration, &r.success, &r.cacheHit)
	if err != nil {
		t.Fatalf("read stored event: %v", err)
	}
	want := row{
		id: "full-1", service: "MATCH_EXPLANATION", model: "gpt-5", provider: "openai",
		sentCost: "0.000123456789012345", sentCurrency: "USD", costSource: "provider", errText: "rate limited",
		userID: "u1", orgID: "o1", endpoint: "/ask", tags: `{"<b>": "\"quoted\"", "team": "search"}`,
		occurred: at.Truncate(time.Microsecond), in: 1000, out: 400, cr: 600, cw: 100, rs: 150,
		success: false, cacheHit: true,
	}
	if r.duration == nil || *r.duration != 1234 {
		t.Errorf("duration_ms = %v, want 1234", r.duration)
	}
	r.duration = nil
	if !r.occurred.Equal(want.occurred) {
		t.Errorf("occurred_at = %s, want %s", r.occurred, want.occurred)
	}
	r.occurred = want.occurred
	if r != want {
		t.Errorf("stored\n %+v\nwant\n %+v", r, want)
	}

	var id string
	var occurred time.Time
	var success bool
	var duration *int64
	err = col.pool.QueryRow(context.Background(),
		"SELECT event_id, occurred_at, success, duration_ms FROM events WHERE event_id <> 'full-1'").Scan(&id, &occurred, &success, &duration)
	if err != nil {
		t.Fatalf("read defaulted event: %v", err)
	}
	if len(id) != 36 || id[14] != '7' {
		t.Errorf("assigned event_id %q, want a UUIDv7", id)
	}
	if occurred.Before(before.Add(-time.Second)) || !success || duration != nil {
		t.Errorf("defaulted event: occurred_at %s (logged after %s), success %v, duration %v; want now, true, NULL",
			occurred, before, success, duration)
	}
}

// Ensures that a collector killed and restarted on the same port in the middle of a steady
// stream loses nothing and stores nothing twice: every event logged before Close is stored
// exactly once, under the same event_id and occurred_at however often it was re-sent.
func TestServerRestartMidStream(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url(), FlushInterval: 20 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	const n = 5000
	var logged atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			c.Log(event(i))
			logged.Add(1)
			if i%10 == 9 {
				time.Sleep(3 * time.Millisecond) // a steady stream, not one burst
			}
		}
	}()

	testkit.Eventually(t, time.Minute, "some events sent", func() bool { return c.Stats().Sent > 0 && logged.Load() >= 1000 })
	col.stop()
	loggedAtStop := logged.Load()
	testkit.Eventually(t, time.Minute, "a failed attempt while the collector is down", func() bool { return c.Stats().Retried > 0 })
	time.Sleep(300 * time.Millisecond) // stay down a little: more events queue up and retries back off
	col.start()
	<-done
	if loggedAtStop >= n {
		t.Fatalf("the stream ended before the restart (logged %d of %d): the test proved nothing", loggedAtStop, n)
	}
	closeClient(t, c)

	rows, ids := col.counts()
	st := c.Stats()
	t.Logf("stats %+v; collector stopped after %d events logged", st, loggedAtStop)
	if rows != n || ids != n {
		t.Fatalf("stored %d rows with %d distinct ids, want %d and %d", rows, ids, n, n)
	}
	if st.Sent != n || st.Dropped != 0 || st.Rejected != 0 || st.Retried == 0 {
		t.Fatalf("stats = %+v, want Sent %d, nothing dropped or rejected, some retries", st, n)
	}
}

// Ensures that with the collector down and a tiny buffer, Log keeps returning and counts what
// it cannot keep, and that Close with a short deadline counts the rest as dropped.
func TestBufferFull(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens here now: every attempt is refused

	const buffer, batch, n = 10, 5, 1000
	c := newClient(t, client.Config{URL: dead, BufferSize: buffer, BatchSize: batch, FlushInterval: time.Hour})
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	// At most one batch has left the buffer; everything past buffer + batch was dropped.
	if st := c.Stats(); st.Dropped < n-buffer-batch || st.Sent != 0 {
		t.Fatalf("after %d Log calls: stats %+v, want at least %d dropped", n, st, n-buffer-batch)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = c.Close(ctx)
	if !errors.Is(err, client.ErrUnsent) {
		t.Fatalf("close = %v, want ErrUnsent", err)
	}
	c.Log(event(n)) // after Close: dropped, no panic
	if got, want := c.Stats(), (client.Stats{Dropped: n + 1, Retried: c.Stats().Retried}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
}

// Ensures a permanent refusal (wrong token → 401) is counted as rejected and not retried.
func TestUnauthorizedIsRejected(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url(), Token: "wrong", BatchSize: 10})
	const n = 35
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	closeClient(t, c) // would run into its deadline and drop if 401 were retried
	if got := c.Stats(); got != (client.Stats{Rejected: n}) {
		t.Fatalf("stats = %+v, want Rejected %d and nothing else", got, n)
	}
	if rows, _ := col.counts(); rows != 0 {
		t.Fatalf("stored %d rows, want 0", rows)
	}
}

// Ensures a 422 rejects only the invalid events of a batch and the valid ones are stored.
func TestInvalidEventsRejectedOthersStored(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url()})
	for i := 0; i < 10; i++ {
		c.Log(event(i))
		if i == 3 {
			c.Log(client.Event{Model: "m", InputTokens: 1}) // no service
		}
		if i == 7 {
			bad := event(i)
			bad.CacheReadTokens = bad.InputTokens + 1 // more cached than input
			c.Log(bad)
		}
	}
	closeClient(t, c)
	if got := c.Stats(); got != (client.Stats{Sent: 10, Rejected: 2}) {
		t.Fatalf("stats = %+v, want Sent 10, Rejected 2", got)
	}
	if rows, ids := col.counts(); rows != 10 || ids != 10 {
		t.Fatalf("stored %d rows (%d ids), want 10", rows, ids)
	}
}

// Ensures a batch larger than the collector accepts (413) is split until it fits, and all of
// it is stored.
func TestTooLargeBatchIsSplit(t *testing.T) {
	col := newCollector(t, collect.Config{MaxEvents: 7})
	c := newClient(t, client.Config{URL: col.url(), BatchSize: 100})
	const n = 60
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	closeClient(t, c)
	if got := c.Stats(); got != (client.Stats{Sent: n}) {
		t.Fatalf("stats = %+v, want Sent %d", got, n)
	}
	if rows, ids := col.counts(); rows != n || ids != n {
		t.Fatalf("stored %d rows (%d ids), want %d", rows, ids, n)
	}
}

// Ensures 503 and 429 answers are retried after their Retry-After, and the events are then
// stored exactly once.
func TestRetryAfter(t *testing.T) {
	col := newCollector(t, collect.Config{})
	real := col.srv.Handler
	var mu sync.Mutex
	var arrivals []time.Time
	busy := []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		k := len(arrivals)
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if k < len(busy) {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(busy[k])
			fmt.Fprint(w, `{"error":"busy"}`)
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	c := newClient(t, client.Config{URL: front.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	const n = 40
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	closeClient(t, c)

	if rows, ids := col.counts(); rows != n || ids != n {
		t.Fatalf("stored %d rows (%d ids), want %d", rows, ids, n)
	}
	if got := c.Stats(); got != (client.Stats{Sent: n, Retried: int64(len(busy))}) {
		t.Fatalf("stats = %+v, want Sent %d, Retried %d", got, n, len(busy))
	}
	// A lower bound the client guarantees (it waited out Retry-After although its own back-off
	// is a few milliseconds), not a measure of speed.
	for k := 1; k <= len(busy); k++ {
		if gap := arrivals[k].Sub(arrivals[k-1]); gap < time.Second {
			t.Errorf("request %d came %s after a Retry-After: 1 answer, want at least 1s", k, gap)
		}
	}
}

// Ensures a batch that keeps failing is dropped after MaxRetries retries instead of blocking
// the client forever.
func TestMaxRetries(t *testing.T) {
	var requests atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	c := newClient(t, client.Config{URL: down.URL, MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	for i := 0; i < 5; i++ {
		c.Log(event(i))
	}
	closeClient(t, c)
	if got := c.Stats(); got != (client.Stats{Dropped: 5, Retried: 2}) {
		t.Fatalf("stats = %+v, want Dropped 5, Retried 2", got)
	}
	if got := requests.Load(); got != 3 {
		t.Fatalf("%d requests, want 3 (one try, two retries)", got)
	}
}

// Ensures New reports every configuration problem at once.
func TestNewRejectsBadConfig(t *testing.T) {
	_, err := client.New(client.Config{URL: "ftp://x", BatchSize: 5000, Token: "a\nb"})
	if err == nil {
		t.Fatal("New accepted a bad configuration")
	}
	for _, want := range []string{"URL", "BatchSize", "Token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// Ensures a nil client is a usable no-op, so an application can disable logging with nil.
func TestNilClient(t *testing.T) {
	var c *client.Client
	c.Log(event(1))
	if err := c.Close(context.Background()); err != nil || c.Stats() != (client.Stats{}) {
		t.Fatalf("nil client: close %v, stats %+v", err, c.Stats())
	}
}

// Ensures that when the collector commits a batch but its reply is lost (the connection dies
// first), the re-sent batch carries the same event_id and occurred_at: the collector answers
// it as duplicates and stores nothing twice.
func TestLostReplyResentOnce(t *testing.T) {
	col := newCollector(t, collect.Config{})
	real := col.srv.Handler
	var requests atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 1 {
			real.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		real.ServeHTTP(rec, r) // committed...
		if rec.Code != http.StatusOK {
			t.Errorf("first request: status %d, want 200", rec.Code)
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close() // ...but the client never hears of it
	}))
	t.Cleanup(front.Close)

	c := newClient(t, client.Config{URL: front.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	const n = 30
	for i := 0; i < n; i++ {
		c.Log(event(i))
	}
	closeClient(t, c)
	if rows, ids := col.counts(); rows != n || ids != n {
		t.Fatalf("stored %d rows (%d ids), want %d", rows, ids, n)
	}
	if got := c.Stats(); got != (client.Stats{Sent: n, Duplicates: n, Retried: 1}) {
		t.Fatalf("stats = %+v, want Sent %d, Duplicates %d, Retried 1", got, n, n)
	}
}
