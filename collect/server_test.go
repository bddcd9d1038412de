package collect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var now = time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)

func prices() *pricing.Table {
	return pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.RequireFromString("1300")}, []pricing.Price{{
		Model: "claude-sonnet-4-5", Provider: "anthropic", From: time.Date(2025, 9, 29, 0, 0, 0, 0, time.UTC),
		Input: decimal.RequireFromString("3"), CacheRead: decimal.RequireFromString("0.3"),
		CacheWrite: decimal.RequireFromString("3.75"), Output: decimal.RequireFromString("15"),
	}})
}

type fixture struct {
	pool *pgxpool.Pool
	h    http.Handler
}

// newFixture serves the real handler on a real store and database.
func newFixture(t *testing.T, cfg collect.Config) *fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	store := pgstore.New(pool, pgstore.Options{})
	t.Cleanup(store.Close)
	if cfg.Tokens == nil {
		cfg.Tokens = []string{"secret-1", "secret-2"}
	}
	cfg.Prices = prices()
	cfg.Now = func() time.Time { return now }
	cfg.MaxAge = 90 * 24 * time.Hour
	return &fixture{pool: pool, h: collect.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), store, pool, nil, nil)}
}

type reply struct {
	Status     int
	Header     http.Header
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Error      string            `json:"error"`
	Problems   []collect.Problem `json:"problems"`
}

func (f *fixture) post(t *testing.T, ctype, body string) reply {
	t.Helper()
	r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer secret-2")
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return do(t, f.h, r)
}

func do(t *testing.T, h http.Handler, r *http.Request) reply {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var rep reply
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %s", ct, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("decode reply %q: %v", w.Body, err)
	}
	rep.Status, rep.Header = w.Code, w.Header()
	return rep
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const good = `{"event_id":"%s","occurred_at":"2026-10-15T11:59:00+09:00","service":"QA_CHAT","model":"claude-sonnet-4-5","provider":"anthropic","input_tokens":500,"output_tokens":300}`

func ev(id string) string { return fmt.Sprintf(good, id) }

// Ensures the contract's example is stored with cost exactly 7.80 KRW and its price version.
func TestAcceptedAndPriced(t *testing.T) {
	f := newFixture(t, collect.Config{})
	rep := f.post(t, "application/json", ev("e1"))
	if rep.Status != 200 || rep.Accepted != 1 || rep.Duplicates != 0 {
		t.Fatalf("got %+v", rep)
	}
	var cost, src, version, rate string
	err := f.pool.QueryRow(context.Background(),
		"SELECT cost::text, cost_source, price_version, fx_rate::text FROM events WHERE event_id='e1'").Scan(&cost, &src, &version, &rate)
	if err != nil {
		t.Fatal(err)
	}
	if src != "local" || version != "anthropic/claude-sonnet-4-5@2025-09-29" || rate != "1300" {
		t.Fatalf("stored cost %s source %s version %s rate %s", cost, src, version, rate)
	}
	if d, _ := decimal.NewFromString(cost); !d.Equal(decimal.RequireFromString("7.80")) {
		t.Fatalf("cost %s != 7.80", cost)
	}
}

func TestBodies(t *testing.T) {
	f := newFixture(t, collect.Config{})
	// Array, NDJSON (with blank lines and CRLF), duplicates inside and across requests.
	rep := f.post(t, "application/json; charset=utf-8", "["+ev("a1")+","+ev("a2")+","+ev("a1")+"]")
	if rep.Status != 200 || rep.Accepted != 2 || rep.Duplicates != 1 {
		t.Fatalf("array: %+v", rep)
	}
	rep = f.post(t, "application/x-ndjson", ev("a2")+"\r\n\n"+ev("n1")+"\n")
	if rep.Status != 200 || rep.Accepted != 1 || rep.Duplicates != 1 {
		t.Fatalf("ndjson: %+v", rep)
	}
	if n := f.rows(t); n != 3 {
		t.Fatalf("rows = %d, want 3", n)
	}
	var durationNull bool
	if err := f.pool.QueryRow(context.Background(), "SELECT duration_ms IS NULL FROM events WHERE event_id='a1'").Scan(&durationNull); err != nil || !durationNull {
		t.Fatalf("duration_ms not sent must be stored as NULL (got null=%v, err %v)", durationNull, err)
	}
	// Provider cost is authoritative and converted; OpenTelemetry aliases accepted.
	rep = f.post(t, "application/json", `{"event_id":"p1","occurred_at":"2026-10-15T10:00:00Z","service":"S","gen_ai.request.model":"gpt-x","gen_ai.provider.name":"openai",
		"gen_ai.usage.input_tokens":100,"gen_ai.usage.output_tokens":5,"gen_ai.usage.cache_read.input_tokens":40,"gen_ai.usage.cache_creation.input_tokens":10,
		"cost":"0.0123","currency":"usd","tags":{"team":"search"},"user_id":"u1","success":false,"error":"timeout","cache_hit":true,"duration_ms":1500}`)
	if rep.Status != 200 || rep.Accepted != 1 {
		t.Fatalf("provider cost: %+v", rep)
	}
	var cost, src, model, prov, cur, tags string
	var cr, cw int64
	var success, hit bool
	err := f.pool.QueryRow(context.Background(), `SELECT cost::text, cost_source, model, provider, sent_currency, tags::text,
		cache_read_tokens, cache_write_tokens, success, cache_hit FROM events WHERE event_id='p1'`).
		Scan(&cost, &src, &model, &prov, &cur, &tags, &cr, &cw, &success, &hit)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := decimal.NewFromString(cost); !d.Equal(decimal.RequireFromString("15.99")) || src != "provider" || model != "gpt-x" ||
		prov != "openai" || cur != "USD" || tags != `{"team": "search"}` || cr != 40 || cw != 10 || success || !hit {
		t.Fatalf("stored %s %s %s %s %s %s %d %d %v %v", cost, src, model, prov, cur, tags, cr, cw, success, hit)
	}
	// An unknown model is stored unpriced, never refused.
	rep = f.post(t, "application/json", strings.Replace(ev("u1"), "claude-sonnet-4-5", "brand-new-model", 1))
	if rep.Status != 200 || rep.Accepted != 1 {
		t.Fatalf("unpriced: %+v", rep)
	}
	var costNull bool
	if err := f.pool.QueryRow(context.Background(), "SELECT cost IS NULL, cost_source FROM events WHERE event_id='u1'").Scan(&costNull, &src); err != nil || !costNull || src != "none" {
		t.Fatalf("unpriced row: cost null %v source %s err %v", costNull, src, err)
	}
}

func TestStatusCodes(t *testing.T) {
	f := newFixture(t, collect.Config{MaxEvents: 3, MaxBodyBytes: 4096})
	req := func(method, path, auth, ctype, body string) *http.Request {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		r      *http.Request
		status int
		errHas string
	}{
		{"no token", req("POST", "/v1/events", "", "application/json", ev("x")), 401, "bearer"},
		{"wrong token", req("POST", "/v1/events", "Bearer nope", "application/json", ev("x")), 401, "bearer"},
		{"token prefix of a real one", req("POST", "/v1/events", "Bearer secret-", "application/json", ev("x")), 401, "bearer"},
		{"basic auth", req("POST", "/v1/events", "Basic c2VjcmV0LTE=", "application/json", ev("x")), 401, "bearer"},
		{"lower-case scheme", req("POST", "/v1/events", "bearer secret-1", "application/json", ev("ok1")), 200, ""},
		{"upper-case scheme", req("POST", "/v1/events", "BEARER secret-1", "application/json", ev("ok2")), 200, ""},
		// The hand-written fold this replaced OR-ed 0x20 into each byte, so NUL matched the space.
		{"NUL instead of the space", req("POST", "/v1/events", "Bearer\x00secret-1", "application/json", ev("x")), 401, "bearer"},
		{"no content type", req("POST", "/v1/events", "Bearer secret-1", "", ev("x")), 415, "Content-Type"},
		{"form content type", req("POST", "/v1/events", "Bearer secret-1", "application/x-www-form-urlencoded", ev("x")), 415, "Content-Type"},
		{"malformed JSON", req("POST", "/v1/events", "Bearer secret-1", "application/json", `{"event_id":`), 400, "malformed"},
		{"malformed array", req("POST", "/v1/events", "Bearer secret-1", "application/json", `[`+ev("x")+`,]`), 400, "malformed"},
		{"empty body", req("POST", "/v1/events", "Bearer secret-1", "application/json", ""), 400, "empty"},
		{"empty array", req("POST", "/v1/events", "Bearer secret-1", "application/json", "[]"), 400, "no events"},
		{"array of numbers", req("POST", "/v1/events", "Bearer secret-1", "application/json", "[1,2]"), 400, "object"},
		{"bad ndjson line", req("POST", "/v1/events", "Bearer secret-1", "application/x-ndjson", ev("x")+"\nnot json\n"), 400, "event 1"},
		{"too many events", req("POST", "/v1/events", "Bearer secret-1", "application/json", "["+ev("1")+","+ev("2")+","+ev("3")+","+ev("4")+"]"), 413, "at most 3"},
		{"body too large", req("POST", "/v1/events", "Bearer secret-1", "application/json", `{"event_id":"`+strings.Repeat("x", 5000)+`"}`), 413, "larger than"},
		{"invalid fields", req("POST", "/v1/events", "Bearer secret-1", "application/json", `{"event_id":"x"}`), 422, "nothing was stored"},
		{"wrong method", req("GET", "/v1/events", "Bearer secret-1", "", ""), 405, ""},
		{"health", req("GET", "/healthz", "", "", ""), 200, ""},
		{"ready", req("GET", "/readyz", "", "", ""), 200, ""},
		{"budgets not configured", req("GET", "/v1/budgets", "Bearer secret-1", "", ""), 404, "no budgets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, tc.r)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if tc.errHas != "" && !strings.Contains(w.Body.String(), tc.errHas) {
				t.Fatalf("body %s does not mention %q", w.Body, tc.errHas)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	if n := f.rows(t); n != 2 {
		t.Fatalf("rows = %d, want 2 (only the lower- and upper-case scheme requests)", n)
	}
}

// Ensures every rule is checked and every problem of every event is listed, and that nothing
// of a request with one bad event is stored.
func TestValidationRules(t *testing.T) {
	f := newFixture(t, collect.Config{})
	base := map[string]any{
		"event_id": "v", "occurred_at": "2026-10-15T11:00:00Z", "service": "QA_CHAT", "model": "m",
		"input_tokens": 10, "output_tokens": 5,
	}
	with := func(kv ...any) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	tags := map[string]string{}
	for i := 0; i < 33; i++ {
		tags[fmt.Sprint("k", i)] = "v"
	}
	for _, tc := range []struct {
		name, body, field string
	}{
		{"event_id missing", with("event_id", nil), "event_id"},
		{"event_id empty", with("event_id", ""), "event_id"},
		{"event_id too long", with("event_id", long(129)), "event_id"},
		{"occurred_at missing", with("occurred_at", nil), "occurred_at"},
		{"occurred_at not RFC 3339", with("occurred_at", "2026-10-15 11:00"), "occurred_at"},
		{"occurred_at in the future", with("occurred_at", "2026-10-15T12:06:00Z"), "occurred_at"},
		{"occurred_at older than retention", with("occurred_at", "2026-01-01T00:00:00Z"), "occurred_at"},
		{"service missing", with("service", nil), "service"},
		{"service bad chars", with("service", "QA CHAT"), "service"},
		{"service too long", with("service", long(65)), "service"},
		{"model missing", with("model", nil), "model"},
		{"model too long", with("model", long(129)), "model"},
		{"input_tokens missing", with("input_tokens", nil), "input_tokens"},
		{"input_tokens negative", with("input_tokens", -1), "input_tokens"},
		{"input_tokens not integer", with("input_tokens", 1.5), "input_tokens"},
		{"input_tokens string", with("input_tokens", "10"), "input_tokens"},
		{"output_tokens missing", with("output_tokens", nil), "output_tokens"},
		{"output_tokens negative", with("output_tokens", -3), "output_tokens"},
		{"cache tokens exceed input", with("cache_read_tokens", 8, "cache_write_tokens", 3), "cache_read_tokens"},
		{"cache_write negative", with("cache_write_tokens", -1), "cache_write_tokens"},
		{"reasoning exceeds output", with("reasoning_tokens", 6), "reasoning_tokens"},
		{"1-hour writes exceed cache writes", with("cache_write_tokens", 2, "cache_write_1h_tokens", 3), "cache_write_1h_tokens"},
		{"1-hour writes without cache writes", with("cache_write_1h_tokens", 1), "cache_write_1h_tokens"},
		{"cache_write_1h negative", with("cache_write_1h_tokens", -1), "cache_write_1h_tokens"},
		{"cost negative", with("cost", "-1"), "cost"},
		{"cost not a number", with("cost", "abc"), "cost"},
		{"cost huge exponent", with("cost", "1e999999999"), "cost"},
		{"currency without cost", with("currency", "USD"), "currency"},
		{"currency not ISO", with("cost", 1, "currency", "dollars"), "currency"},
		{"duration negative", with("duration_ms", -5), "duration_ms"},
		// The smallest int64 is what marks a field the body did not set: sent, it is negative.
		{"duration the smallest int64", with("duration_ms", int64(math.MinInt64)), "duration_ms"},
		{"cache_read_tokens the smallest int64", with("cache_read_tokens", int64(math.MinInt64)), "cache_read_tokens"},
		{"OTel output alias the smallest int64", with("output_tokens", nil, "gen_ai.usage.output_tokens", int64(math.MinInt64)), "output_tokens"},
		{"duration not an integer", with("duration_ms", "900"), "duration_ms"},
		{"duration above a day", with("duration_ms", collect.MaxDurationMS+1), "duration_ms"},
		{"duration a nanosecond timestamp", with("duration_ms", int64(1760000000123456789)), "duration_ms"},
		{"input_tokens above 10^10", with("input_tokens", int64(collect.MaxTokens+1)), "input_tokens"},
		{"input_tokens near 2^63", with("input_tokens", int64(math.MaxInt64)), "input_tokens"},
		{"output_tokens above 10^10", with("output_tokens", int64(collect.MaxTokens+1)), "output_tokens"},
		{"cache_read_tokens above 10^10", with("input_tokens", int64(collect.MaxTokens), "cache_read_tokens", int64(collect.MaxTokens+1)), "cache_read_tokens"},
		{"cache_write_tokens above 10^10", with("input_tokens", int64(collect.MaxTokens), "cache_write_tokens", int64(collect.MaxTokens+1)), "cache_write_tokens"},
		{"reasoning_tokens above 10^10", with("output_tokens", int64(collect.MaxTokens), "reasoning_tokens", int64(collect.MaxTokens+1)), "reasoning_tokens"},
		{"OTel input alias above 10^10", with("input_tokens", nil, "gen_ai.usage.input_tokens", int64(collect.MaxTokens+1)), "input_tokens"},
		{"OTel output alias above 10^10", with("output_tokens", nil, "gen_ai.usage.output_tokens", int64(collect.MaxTokens+1)), "output_tokens"},
		{"OTel cache read alias above 10^10", with("gen_ai.usage.cache_read.input_tokens", int64(collect.MaxTokens+1)), "cache_read_tokens"},
		{"OTel cache creation alias above 10^10", with("gen_ai.usage.cache_creation.input_tokens", int64(collect.MaxTokens+1)), "cache_write_tokens"},
		// The sum of these wraps around in int64 to a negative number, below input_tokens.
		{"cache tokens overflow the sum", with("input_tokens", 500, "cache_read_tokens", int64(math.MaxInt64), "cache_write_tokens", 1), "cache_read_tokens"},
		{"cache tokens overflow the sum evenly", with("input_tokens", 500, "cache_read_tokens", int64(1<<62), "cache_write_tokens", int64(1<<62)), "cache_read_tokens"},
		{"success not bool", with("success", "yes"), "success"},
		{"error too long", with("error", long(1025)), "error"},
		{"user_id too long", with("user_id", long(257)), "user_id"},
		{"org_id too long", with("org_id", long(257)), "org_id"},
		{"endpoint too long", with("endpoint", long(257)), "endpoint"},
		{"NUL in user_id", with("user_id", "a\x00b"), "user_id"},
		{"too many tags", with("tags", tags), "tags"},
		{"tag value not string", with("tags", map[string]int{"a": 1}), "tags"},
		{"provider too long", with("provider", long(257)), "provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := f.post(t, "application/json", tc.body)
			if rep.Status != 422 {
				t.Fatalf("status %d, want 422: %+v", rep.Status, rep)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || p.Field == tc.field && p.Index == 0 && p.Message != ""
			}
			if !found {
				t.Fatalf("no problem for field %q: %+v", tc.field, rep.Problems)
			}
		})
	}
	// Every problem of every event, with its index; the valid event is not stored either.
	rep := f.post(t, "application/json", "["+with("event_id", "ok")+","+with("service", nil, "model", nil, "input_tokens", -1)+"]")
	if rep.Status != 422 || len(rep.Problems) != 3 {
		t.Fatalf("want 3 problems for event 1: %+v", rep)
	}
	for _, p := range rep.Problems {
		if p.Index != 1 {
			t.Fatalf("problem for index %d: %+v", p.Index, p)
		}
	}
	if n := f.rows(t); n != 0 {
		t.Fatalf("rows = %d after refused requests, want 0", n)
	}
}

type fakeStore struct{ err error }

func (s fakeStore) Insert(context.Context, []collect.Row) (int, int, error) { return 0, 0, s.err }

type fakePinger struct{ err error }

func (p fakePinger) Ping(context.Context) error { return p.err }

// Ensures saturation and an unreachable database answer 503 with Retry-After, never 500.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"saturated", collect.ErrSaturated},
		{"database down", fmt.Errorf("%w: dial tcp: connection refused", collect.ErrUnavailable)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := collect.NewServer(collect.Config{Prices: prices(), Now: func() time.Time { return now }},
				slog.New(slog.NewTextHandler(io.Discard, nil)), fakeStore{tc.err}, fakePinger{tc.err}, nil, nil)
			r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(ev("x")))
			r.Header.Set("Content-Type", "application/json")
			rep := do(t, h, r)
			if rep.Status != 503 || rep.Header.Get("Retry-After") == "" {
				t.Fatalf("got %d Retry-After %q", rep.Status, rep.Header.Get("Retry-After"))
			}
			rep = do(t, h, httptest.NewRequest("GET", "/readyz", nil))
			if rep.Status != 503 {
				t.Fatalf("readyz = %d, want 503", rep.Status)
			}
		})
	}
}

// Ensures a collector with enforced budgets is not ready until it has read their spend once:
// before that it would answer every decision stale.
func TestNotReadyBeforeTheSpendIsRead(t *testing.T) {
	d := collect.NewDecider(collect.DecideConfig{Budgets: []report.Budget{perUserEnforced()}, Source: entitySource(3),
		Location: time.UTC, MaxStaleness: time.Minute, EstimateTTL: time.Minute})
	h := collect.NewServer(collect.Config{Prices: prices(), Decide: d},
		slog.New(slog.NewTextHandler(io.Discard, nil)), fakeStore{}, fakePinger{}, nil, nil)
	if rep := do(t, h, httptest.NewRequest("GET", "/readyz", nil)); rep.Status != 503 || rep.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz before the first read = %d, Retry-After %q; want 503 with one", rep.Status, rep.Header.Get("Retry-After"))
	}
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 200 {
		t.Fatalf("readyz after the first read = %d %s", w.Code, w.Body)
	}
}

// Ensures a real store whose database is gone answers 503, and /readyz fails.
func TestDatabaseGone(t *testing.T) {
	pool := pgtest.Connect(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	store := pgstore.New(pool, pgstore.Options{})
	defer store.Close()
	h := collect.NewServer(collect.Config{Prices: prices(), Now: func() time.Time { return now }},
		slog.New(slog.NewTextHandler(io.Discard, nil)), store, pool, nil, nil)
	r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(ev("x")))
	r.Header.Set("Content-Type", "application/json")
	if rep := do(t, h, r); rep.Status != 503 || rep.Header.Get("Retry-After") == "" {
		t.Fatalf("insert with database gone: %d", rep.Status)
	}
	if rep := do(t, h, httptest.NewRequest("GET", "/readyz", nil)); rep.Status != 503 {
		t.Fatalf("readyz = %d", rep.Status)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, collect.Config{})
	f.post(t, "application/json", "["+ev("m1")+","+ev("m1")+"]")
	f.post(t, "application/json", `{"event_id":"bad"}`)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`aispend_events_total{result="accepted"} 1`,
		`aispend_events_total{result="duplicate"} 1`,
		`aispend_events_total{result="rejected"} 1`,
		`aispend_http_requests_total{code="200"} 1`,
		`aispend_http_requests_total{code="422"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Ensures the limits are inclusive: an event with every count at 10^10 and a duration of one
// day is stored as sent.
func TestLimitsInclusive(t *testing.T) {
	f := newFixture(t, collect.Config{})
	body := fmt.Sprintf(`{"event_id":"max","occurred_at":"2026-10-15T11:00:00Z","service":"S","model":"claude-sonnet-4-5","provider":"anthropic",
		"input_tokens":%[1]d,"output_tokens":%[1]d,"cache_read_tokens":%[2]d,"cache_write_tokens":%[2]d,"reasoning_tokens":%[1]d,"duration_ms":%[3]d}`,
		int64(collect.MaxTokens), int64(collect.MaxTokens/2), collect.MaxDurationMS)
	if rep := f.post(t, "application/json", body); rep.Status != 200 || rep.Accepted != 1 {
		t.Fatalf("event at the limits: %+v", rep)
	}
	var in, out, cr, cw, rs, dur int64
	err := f.pool.QueryRow(context.Background(), `SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
		reasoning_tokens, duration_ms FROM events WHERE event_id='max'`).Scan(&in, &out, &cr, &cw, &rs, &dur)
	if err != nil {
		t.Fatal(err)
	}
	if in != collect.MaxTokens || out != collect.MaxTokens || cr != collect.MaxTokens/2 || cw != collect.MaxTokens/2 ||
		rs != collect.MaxTokens || dur != collect.MaxDurationMS {
		t.Fatalf("stored %d %d %d %d %d %d", in, out, cr, cw, rs, dur)
	}
}
