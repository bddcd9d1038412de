package main

// Fault tests: the real collector binary and the real Go client, with PostgreSQL
// stopped under load, and with a reply lost after its commit. Every assertion is an exact count.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/client"
	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// startCollector runs `aispend serve` on dbURL (token "tok") until the test ends and returns
// its address.
func startCollector(t *testing.T, dbURL string) string {
	t.Helper()
	addr, _ := startCollectorPID(t, dbURL)
	return addr
}

// startCollectorPID is startCollector that also returns the collector's process id.
func startCollectorPID(t *testing.T, dbURL string, env ...string) (string, int) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=tok", "AISPEND_CONFIG=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("collector exit: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("collector did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("collector log:\n%s", stderr.String())
		}
	})
	waitHealthy(t, addr)
	return addr, cmd.Process.Pid
}

// clientLogger sends the client's own log lines to the test log (the client is closed before
// the test ends).
func clientLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// storedIDs returns how many rows each event_id has in the events table.
func storedIDs(t *testing.T, dbURL string) map[string]int {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(context.Background(), "SELECT event_id, count(*) FROM events GROUP BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// checkStoredOnce fails unless the events table holds exactly the ids in want, each once.
func checkStoredOnce(t *testing.T, dbURL string, want map[string]bool) {
	t.Helper()
	got := storedIDs(t, dbURL)
	var missing, extra, repeated []string
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range got {
		if !want[id] {
			extra = append(extra, id)
		}
		if n != 1 {
			repeated = append(repeated, fmt.Sprintf("%s×%d", id, n))
		}
	}
	if len(missing)+len(extra)+len(repeated) > 0 {
		t.Fatalf("stored events differ from the logged ones: %d logged, %d stored ids; %d missing %v; %d not logged %v; %d stored more than once %v",
			len(want), len(got), len(missing), first(missing), len(extra), first(extra), len(repeated), first(repeated))
	}
}

func first(s []string) []string {
	slices.Sort(s)
	return s[:min(len(s), 10)]
}

// scrapeMetrics reads the collector's /metrics as a map from series (name and labels, as
// printed) to value.
func scrapeMetrics(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(series, "aispend_") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		m[series] = int64(v)
	}
	return m
}

// checkEventMetrics compares aispend_events_total with the counts the test expects, and
// checks that the collector never answered 500.
func checkEventMetrics(t *testing.T, addr string, accepted, duplicate int64) {
	t.Helper()
	m := scrapeMetrics(t, addr)
	got := [4]int64{m[`aispend_events_total{result="accepted"}`], m[`aispend_events_total{result="duplicate"}`],
		m[`aispend_events_total{result="rejected"}`], m[`aispend_http_requests_total{code="500"}`]}
	if want := [4]int64{accepted, duplicate, 0, 0}; got != want {
		t.Errorf("collector metrics: events accepted %d, duplicate %d, rejected %d, HTTP 500 answers %d; want %d, %d, 0, 0",
			got[0], got[1], got[2], got[3], accepted, duplicate)
	}
}

func postOne(hc *http.Client, addr, id string) (status int, retryAfter string, err error) {
	body := fmt.Sprintf(`{"event_id":%q,"occurred_at":%q,"service":"S","model":"m","input_tokens":1,"output_tokens":1}`,
		id, time.Now().UTC().Format(time.RFC3339Nano))
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

func readyStatus(hc *http.Client, addr string) (int, error) {
	resp, err := hc.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// PostgreSQL is stopped (pg_ctl stop -m fast) while several goroutines log through the Go
// client, and started again. Meanwhile the collector answers 503 with Retry-After and /readyz
// fails; afterwards every logged event is stored exactly once, and the client's counters, the
// collector's metrics and the table agree exactly.
func TestFaultPostgresStoppedUnderLoad(t *testing.T) {
	ctx := context.Background()
	cl, err := pglocal.Start(ctx, pglocal.Options{Fast: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := cl.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})
	addr := startCollector(t, cl.URL)
	hc := &http.Client{Timeout: 10 * time.Second}
	ready503 := int64(0) // the /readyz checks below answered 503, for the count of 503 answers
	ready := func() (int, error) {
		st, err := readyStatus(hc, addr)
		if st == http.StatusServiceUnavailable {
			ready503++
		}
		return st, err
	}

	c, err := client.New(client.Config{
		URL:           "http://" + addr,
		Token:         "tok",
		BufferSize:    500_000, // far more than the outage can fill: nothing may be dropped
		BatchSize:     500,
		FlushInterval: 50 * time.Millisecond,
		MinBackoff:    20 * time.Millisecond,
		MaxBackoff:    time.Second,
		Logger:        clientLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}

	// Steady load: 4 goroutines, each logging about one event per millisecond with its own ids.
	const loggers = 4
	var logged atomic.Int64
	ids := make([][]string, loggers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < loggers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("load-%d-%06d", g, i)
				c.Log(client.Event{EventID: id, Service: "FAULTS", Model: "m", InputTokens: 100, OutputTokens: 10})
				ids[g] = append(ids[g], id)
				logged.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	testkit.Eventually(t, 15*time.Second, "1,000 events sent before the outage", func() bool { return c.Stats().Sent >= 1000 })
	if st, err := ready(); err != nil || st != 200 {
		t.Fatalf("/readyz before the outage: %d %v", st, err)
	}

	// The outage: 3 s, while the client sends a batch every 50 ms (that it retried is checked
	// at the end).
	if err := cl.Shutdown(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	probes := map[string]bool{}
	for time.Since(down) < 3*time.Second {
		id := fmt.Sprintf("probe-%d", len(probes))
		probes[id] = true
		status, retryAfter, err := postOne(hc, addr, id)
		if err != nil || status != http.StatusServiceUnavailable || retryAfter == "" {
			t.Fatalf("POST /v1/events with PostgreSQL stopped: status %d, Retry-After %q, error %v; want 503 with Retry-After", status, retryAfter, err)
		}
		if st, err := ready(); err != nil || st == 200 {
			t.Fatalf("GET /readyz with PostgreSQL stopped: status %d, error %v; want a non-200 answer", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	loggedInOutage := logged.Load()
	if err := cl.StartAgain(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL down for %v: %d probes answered 503; client %+v, %d events logged so far",
		time.Since(down).Round(time.Millisecond), len(probes), c.Stats(), loggedInOutage)

	testkit.Eventually(t, 20*time.Second, "/readyz to answer 200 again", func() bool {
		st, err := ready()
		return err == nil && st == 200
	})
	// Keep logging until everything logged before the restart has been acknowledged.
	testkit.Eventually(t, 25*time.Second, "the backlog of the outage to be sent", func() bool { return c.Stats().Sent >= loggedInOutage })
	stopLoad()

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	want := map[string]bool{}
	for _, l := range ids {
		for _, id := range l {
			want[id] = true
		}
	}
	n := int64(len(want))
	if n != logged.Load() {
		t.Fatalf("logged %d events but %d distinct ids", logged.Load(), n)
	}
	st := c.Stats()
	t.Logf("%d events logged; client %+v", n, st)
	if st.Sent != n || st.Dropped != 0 || st.Rejected != 0 {
		t.Errorf("client counters: %+v; want Sent = %d logged events, Dropped 0, Rejected 0", st, n)
	}
	if st.Retried == 0 {
		t.Errorf("client counters: %+v; want at least one retry after the outage", st)
	}
	// The probes were answered 503: none of them may be stored.
	checkStoredOnce(t, cl.URL, want)
	// Every failure during the outage was a 503, and the collector's counts are the client's.
	checkEventMetrics(t, addr, n-st.Duplicates, st.Duplicates)
	// Every 503 went to a probe, a readiness check, or a client attempt that was then retried.
	if got, want := scrapeMetrics(t, addr)[`aispend_http_requests_total{code="503"}`], int64(len(probes))+ready503+st.Retried; got != want {
		t.Errorf("collector answered 503 %d times; want %d (%d probes + %d readiness checks + %d client retries)", got, want, len(probes), ready503, st.Retried)
	}
}

// dropProxy forwards HTTP/1.1 connections byte for byte between a client and the collector,
// records every request body and response, and once (the first response) reads the complete
// response from the collector — so the request has been committed — and closes the client's
// connection without writing it.
type dropProxy struct {
	addr     string
	ln       net.Listener
	dropNext atomic.Bool

	mu        sync.Mutex
	requests  [][]byte
	responses []proxiedResponse
	conns     []net.Conn
}

type proxiedResponse struct {
	status  int
	body    []byte
	dropped bool
}

func newDropProxy(t *testing.T, upstream string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{addr: ln.Addr().String(), ln: ln}
	p.dropNext.Store(true)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				down.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, down, up)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); p.forwardRequests(down, up) }()
			go func() { defer wg.Done(); p.forwardResponses(up, down) }()
		}
	}()
	return p
}

// messages reads HTTP messages from a connection and returns each one's exact bytes.
type messages struct {
	raw bytes.Buffer // bytes read from the connection and not yet handed out
	br  *bufio.Reader
}

func newMessages(c net.Conn) *messages {
	m := &messages{}
	m.br = bufio.NewReader(io.TeeReader(c, &m.raw))
	return m
}

// take returns the bytes of the message just parsed (those read but not still buffered).
func (m *messages) take() []byte {
	return bytes.Clone(m.raw.Next(m.raw.Len() - m.br.Buffered()))
}

func (p *dropProxy) forwardRequests(down, up net.Conn) {
	defer up.Close()
	defer down.Close()
	in := newMessages(down)
	for {
		req, err := http.ReadRequest(in.br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.requests = append(p.requests, body)
		p.mu.Unlock()
		if _, err := up.Write(in.take()); err != nil {
			return
		}
	}
}

func (p *dropProxy) forwardResponses(up, down net.Conn) {
	defer up.Close()
	defer down.Close()
	in := newMessages(up)
	for {
		resp, err := http.ReadResponse(in.br, nil)
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return
		}
		raw := in.take()
		drop := p.dropNext.CompareAndSwap(true, false)
		p.mu.Lock()
		p.responses = append(p.responses, proxiedResponse{status: resp.StatusCode, body: body, dropped: drop})
		p.mu.Unlock()
		if drop {
			return // the deferred Closes cut the client off without the reply
		}
		if _, err := down.Write(raw); err != nil {
			return
		}
	}
}

// The reply to a committed request is lost on its way to the client. The client re-sends the
// very same body, the collector answers it as all duplicates, and each event is stored once.
func TestFaultReplyLostAfterCommit(t *testing.T) {
	dbURL := pgtest.URL(t)
	addr := startCollector(t, dbURL)
	proxy := newDropProxy(t, addr)

	c, err := client.New(client.Config{
		URL:           "http://" + proxy.addr,
		Token:         "tok",
		FlushInterval: time.Minute, // the one batch leaves at Close, holding every event
		MinBackoff:    10 * time.Millisecond,
		MaxBackoff:    100 * time.Millisecond,
		Logger:        clientLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("lost-reply-%d", i)
		want[id] = true
		c.Log(client.Event{EventID: id, Service: "FAULTS", Model: "m", InputTokens: 100, OutputTokens: 10})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	proxy.mu.Lock()
	requests, responses := slices.Clone(proxy.requests), slices.Clone(proxy.responses)
	proxy.mu.Unlock()
	if len(requests) != 2 || len(responses) != 2 {
		t.Fatalf("proxy saw %d requests and %d responses; want 2 of each (the original and one retry)", len(requests), len(responses))
	}
	if !bytes.Equal(requests[0], requests[1]) {
		t.Errorf("the retry's body differs from the original:\n%s\n%s", requests[0], requests[1])
	}
	var sentIDs []struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(requests[0], &sentIDs); err != nil || len(sentIDs) != n {
		t.Errorf("request body holds %d events (%v); want %d", len(sentIDs), err, n)
	}
	type counts struct{ Accepted, Duplicates int }
	for i, wantCounts := range []counts{{n, 0}, {0, n}} {
		r := responses[i]
		var got counts
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || got != wantCounts || r.dropped != (i == 0) {
			t.Errorf("response %d: status %d, body %s, dropped %v; want 200 with %+v, dropped %v", i, r.status, r.body, r.dropped, wantCounts, i == 0)
		}
	}
	st := c.Stats()
	if wantStats := (client.Stats{Sent: n, Duplicates: n, Retried: 1}); st != wantStats {
		t.Errorf("client counters %+v; want %+v", st, wantStats)
	}
	checkStoredOnce(t, dbURL, want)
	checkEventMetrics(t, addr, n, n)
}
