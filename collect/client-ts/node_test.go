// Package clientts runs the TypeScript client's tests (node's test runner) against real
// collectors: the aispend binary, serving on loopback, on a private PostgreSQL. The Go side is
// the harness, because PostgreSQL and the binary are already at home here (collect/testkit/pgtest,
// go build); the node tests drive it through a small control API on loopback (see harness).
package clientts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "ts-client-token"

// Ensures the TypeScript client's tests pass: usage mappers on recorded bodies, type checks
// against the SDK types (at compile time), and delivery to real collectors that fail, restart
// and lose replies (test/*.test.ts).
func TestNodeClient(t *testing.T) {
	node := nodeBinary(t)
	if _, err := os.Stat(filepath.Join("node_modules", "typescript", "package.json")); err != nil {
		t.Fatalf("the TypeScript client's npm dependencies are not installed: run `make client-ts-deps` (npm ci in collect/client-ts): %v", err)
	}
	// Compile the library and the tests with the pinned compiler. This is also the type check
	// of the usage mappers against the SDKs (test/sdk-types.ts).
	if err := os.RemoveAll("build"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.test.json").CombinedOutput(); err != nil {
		t.Fatalf("tsc -p tsconfig.test.json: %v\n%s", err, out)
	}
	// The published build too: it must compile without Node's types (any runtime with fetch).
	if out, err := exec.Command(node, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--outDir", t.TempDir()).CombinedOutput(); err != nil {
		t.Fatalf("tsc -p tsconfig.json: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("build", "test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no compiled tests under build/test (glob: %v)", err)
	}

	h := &harness{t: t, bin: aispendBinary(t)}
	ctl := httptest.NewServer(h.routes())
	t.Cleanup(ctl.Close)
	t.Cleanup(h.stopAll)

	cmd := exec.Command(node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Env = append(os.Environ(), "AISPEND_TEST_CONTROL="+ctl.URL, "AISPEND_TEST_TOKEN="+token, "NO_COLOR=1")
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	out.flush()
	if err != nil {
		t.Fatalf("node --test: %v (the test output is above)", err)
	}
}

func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the TypeScript client's tests need Node.js 18 or later (apt-get install nodejs npm)")
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	m := regexp.MustCompile(`^v(\d+)\.`).FindSubmatch(bytes.TrimSpace(v))
	if m == nil {
		t.Fatalf("node --version printed %q", v)
	}
	if major, _ := strconv.Atoi(string(m[1])); major < 18 {
		t.Fatalf("node %s is too old: the TypeScript client needs Node.js 18 or later", bytes.TrimSpace(v))
	}
	return node
}

// aispendBinary builds cmd/aispend for the collectors the node tests start.
func aispendBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aispend")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/aispend").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/aispend: %v\n%s", err, out)
	}
	return bin
}

// lineLogger passes node's output to t.Log a line at a time.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
		l.buf = nil
	}
}

// harness serves the control API the node tests use (JSON over loopback):
//
//	POST /collectors                 start a collector on a fresh database → {"id", "url", "proxy_url"}
//	POST /collectors/{id}/kill       SIGKILL it, as a crash would (in-flight requests get no answer)
//	POST /collectors/{id}/start      start it again on the same port and database
//	POST /collectors/{id}/faults     queue what the proxy does with its next requests:
//	                                 [{"status": 503, "retry_after": "1"}, {"lose_reply": true}, ...]
//	GET  /collectors/{id}/requests   the request bodies the proxy saw, in order
//	GET  /collectors/{id}/events     the stored events, by event_id
//
// url is the collector itself; proxy_url goes through a proxy that applies the queued faults
// (a status answered without forwarding, or a request forwarded and stored whose reply is cut).
type harness struct {
	t   *testing.T
	bin string

	mu   sync.Mutex
	cols []*collectorProc
}

type collectorProc struct {
	h     *harness
	id    int
	addr  string
	dbURL string
	pool  *pgxpool.Pool
	proxy *httptest.Server

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   syncBuffer
	faults []fault
	bodies []string
}

type fault struct {
	Status     int    `json:"status"`
	RetryAfter string `json:"retry_after"`
	LoseReply  bool   `json:"lose_reply"`
}

func (h *harness) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /collectors", func(w http.ResponseWriter, r *http.Request) {
		c, err := h.newCollector()
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSON(w, map[string]any{"id": c.id, "url": "http://" + c.addr, "proxy_url": c.proxy.URL})
	})
	mux.HandleFunc("POST /collectors/{id}/kill", h.with(func(c *collectorProc, w http.ResponseWriter, r *http.Request) error {
		return c.kill()
	}))
	mux.HandleFunc("POST /collectors/{id}/start", h.with(func(c *collectorProc, w http.ResponseWriter, r *http.Request) error {
		return c.start()
	}))
	mux.HandleFunc("POST /collectors/{id}/faults", h.with(func(c *collectorProc, w http.ResponseWriter, r *http.Request) error {
		var fs []fault
		if err := json.NewDecoder(r.Body).Decode(&fs); err != nil {
			return fmt.Errorf("decode faults: %w", err)
		}
		c.mu.Lock()
		c.faults = append(c.faults, fs...)
		c.mu.Unlock()
		return nil
	}))
	mux.HandleFunc("GET /collectors/{id}/requests", h.with(func(c *collectorProc, w http.ResponseWriter, r *http.Request) error {
		c.mu.Lock()
		bodies := append([]string{}, c.bodies...)
		c.mu.Unlock()
		writeJSON(w, map[string]any{"bodies": bodies})
		return nil
	}))
	mux.HandleFunc("GET /collectors/{id}/events", h.with(func(c *collectorProc, w http.ResponseWriter, r *http.Request) error {
		evs, err := c.events(r.Context())
		if err != nil {
			return err
		}
		writeJSON(w, map[string]any{"events": evs})
		return nil
	}))
	return mux
}

func (h *harness) with(f func(*collectorProc, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		h.mu.Lock()
		var c *collectorProc
		if err == nil && id >= 0 && id < len(h.cols) {
			c = h.cols[id]
		}
		h.mu.Unlock()
		if c == nil {
			http.Error(w, "no such collector", http.StatusNotFound)
			return
		}
		if err := f(c, w, r); err != nil {
			httpError(w, err)
			return
		}
		if r.Method == http.MethodPost {
			writeJSON(w, map[string]any{"ok": true})
		}
	}
}

func httpError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (h *harness) newCollector() (*collectorProc, error) {
	// pgtest.URL registers the database's removal with the test; it fails the test (from this
	// handler's goroutine, which then ends) only if PostgreSQL itself cannot be had.
	dbURL := pgtest.URL(h.t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &collectorProc{h: h, addr: addr, dbURL: dbURL, pool: pool}
	c.proxy = httptest.NewServer(http.HandlerFunc(c.serveProxy))
	h.mu.Lock()
	c.id = len(h.cols)
	h.cols = append(h.cols, c)
	h.mu.Unlock()
	return c, c.start()
}

func (c *collectorProc) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return fmt.Errorf("collector %d is running", c.id)
	}
	cmd := exec.Command(c.h.bin, "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+c.dbURL, "AISPEND_LISTEN="+c.addr,
		"AISPEND_INGEST_TOKENS="+token, "AISPEND_CONFIG="+filepath.Join("testdata", "aispend.yaml"))
	cmd.Stdout, cmd.Stderr = &c.logs, &c.logs // exec copies into it from its own goroutines
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start collector: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	// Ready when it answers on its port; the port was free a moment ago and a restart reuses it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + c.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			c.cmd = nil
			return fmt.Errorf("collector exited at start:\n%s", c.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector not ready after 30 s:\n%s", c.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *collectorProc) kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	return nil
}

func (h *harness) stopAll() {
	h.mu.Lock()
	cols := h.cols
	h.mu.Unlock()
	for _, c := range cols {
		_ = c.kill()
		c.proxy.Close()
		c.pool.Close()
		if h.t.Failed() {
			h.t.Logf("collector %d output:\n%s", c.id, c.logs.String())
		}
	}
}

// serveProxy forwards to the collector, unless a queued fault says otherwise.
func (c *collectorProc) serveProxy(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, string(body))
	var f fault
	if len(c.faults) > 0 {
		f, c.faults = c.faults[0], c.faults[1:]
	}
	c.mu.Unlock()
	if f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, `{"error":"injected by the test proxy"}`)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+c.addr+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, k := range []string{"Authorization", "Content-Type"} {
		req.Header.Set(k, r.Header.Get(k))
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
	}
	if err != nil || f.LoseReply {
		// The client must see what it sees when a collector dies mid-request: a cut connection.
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		if conn, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
			conn.Close()
		}
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

type storedEvent struct {
	EventID          string            `json:"event_id"`
	OccurredAt       time.Time         `json:"occurred_at"`
	Service          string            `json:"service"`
	Model            string            `json:"model"`
	Provider         string            `json:"provider"`
	InputTokens      int64             `json:"input_tokens"`
	OutputTokens     int64             `json:"output_tokens"`
	CacheReadTokens  int64             `json:"cache_read_tokens"`
	CacheWriteTokens int64             `json:"cache_write_tokens"`
	ReasoningTokens  int64             `json:"reasoning_tokens"`
	Cost             *string           `json:"cost"`
	CostSource       string            `json:"cost_source"`
	DurationMS       *int64            `json:"duration_ms"`
	Success          bool              `json:"success"`
	Error            *string           `json:"error"`
	CacheHit         bool              `json:"cache_hit"`
	UserID           *string           `json:"user_id"`
	OrgID            *string           `json:"org_id"`
	Endpoint         *string           `json:"endpoint"`
	Tags             map[string]string `json:"tags"`
}

// events returns every stored row (a duplicate would show as a second row with the same id).
func (c *collectorProc) events(ctx context.Context) ([]storedEvent, error) {
	rows, err := c.pool.Query(ctx, `
		SELECT event_id, occurred_at, service, model, provider, input_tokens, output_tokens,
		       cache_read_tokens, cache_write_tokens, reasoning_tokens, cost::text, cost_source,
		       duration_ms, success, error, cache_hit, user_id, org_id, endpoint, tags
		FROM events ORDER BY event_id, occurred_at`)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	evs := []storedEvent{}
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.EventID, &e.OccurredAt, &e.Service, &e.Model, &e.Provider, &e.InputTokens,
			&e.OutputTokens, &e.CacheReadTokens, &e.CacheWriteTokens, &e.ReasoningTokens, &e.Cost,
			&e.CostSource, &e.DurationMS, &e.Success, &e.Error, &e.CacheHit, &e.UserID, &e.OrgID,
			&e.Endpoint, &e.Tags); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return evs, nil
}

// syncBuffer is a bytes.Buffer that a running process writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
