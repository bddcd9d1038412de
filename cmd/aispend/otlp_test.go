package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// otlpConfig prices the contract's model: input 3, cache read 0.30, cache write 3.75 and output
// 15 USD per million tokens, at 1,300 KRW per USD.
const otlpConfig = `currency: KRW
timezone: Asia/Seoul
fx: {USD: 1300}
prices:
  - model: claude-sonnet-4-5
    provider: anthropic
    from: 2025-09-29
    input: 3.00
    cache_read: 0.30
    cache_write: 3.75
    output: 15.00
`

// otlpCollector is `aispend serve` on a fresh database.
type otlpCollector struct {
	addr, token string
	pool        *pgxpool.Pool
}

func startOTLPCollector(t *testing.T) *otlpCollector {
	t.Helper()
	dbURL := pgtest.URL(t)
	c := &otlpCollector{addr: freeAddr(t), token: "otlp-token"}
	env := map[string]string{"DATABASE_URL": dbURL, "AISPEND_LISTEN": c.addr, "AISPEND_INGEST_TOKENS": c.token,
		"AISPEND_CONFIG": writeTestConfig(t, otlpConfig)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve", "--log-format", "text"}, envMap(env), io.Discard, &logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	})
	waitHealthy(t, c.addr)
	pool := pgtest.Connect(t, dbURL)
	c.pool = pool
	return c
}

type otlpEvent struct {
	service, model, provider, userID, orgID, errText, cost string
	in, out, cacheRead, cacheWrite, duration               int64
	success                                                bool
	occurredAt                                             time.Time
}

func (c *otlpCollector) event(t *testing.T, id string) otlpEvent {
	t.Helper()
	var e otlpEvent
	err := c.pool.QueryRow(context.Background(), `SELECT service, model, provider, coalesce(user_id, ''), coalesce(org_id, ''),
		coalesce(error, ''), coalesce(cost::text, ''), input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
		coalesce(duration_ms, -1), success, occurred_at FROM events WHERE event_id = $1`, id).
		Scan(&e.service, &e.model, &e.provider, &e.userID, &e.orgID, &e.errText, &e.cost, &e.in, &e.out, &e.cacheRead,
			&e.cacheWrite, &e.duration, &e.success, &e.occurredAt)
	if err != nil {
		t.Fatalf("read event %s: %v", id, err)
	}
	return e
}

func (c *otlpCollector) count(t *testing.T) (n int, total string) {
	t.Helper()
	if err := c.pool.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(cost), 0)::text FROM events").Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	return n, total
}

// metrics returns the collector's /metrics text.
func (c *otlpCollector) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func wantMetrics(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func equalCost(t *testing.T, what, got, want string) {
	t.Helper()
	g, err := decimal.NewFromString(got)
	if err != nil || !g.Equal(decimal.RequireFromString(want)) {
		t.Errorf("%s: cost %q, want exactly %s", what, got, want)
	}
}

func otelEventID(sc trace.SpanContext) string {
	return "otel:" + sc.TraceID().String() + ":" + sc.SpanID().String()
}

// Ensures the OpenTelemetry Go SDK's OTLP/HTTP exporter, in each encoding (protobuf, gzip
// protobuf, JSON), delivers GenAI spans to `aispend serve` as priced events; that its retry of
// the same spans is counted as duplicates and stored once; that a span without usage is
// ignored and an invalid one refused with a partial success the exporter reports; and that the
// exporter gives up on no span while the collector answers.
func TestOTLPGoExporter(t *testing.T) {
	c := startOTLPCollector(t)
	for i, tc := range []struct {
		name string
		opts []otlptracehttp.Option
	}{
		{"protobuf", nil},
		{"protobuf gzip", []otlptracehttp.Option{otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}},
		{"JSON", []otlptracehttp.Option{otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			exp, err := otlptracehttp.New(ctx, append([]otlptracehttp.Option{
				otlptracehttp.WithEndpointURL("http://" + c.addr + "/v1/traces"),
				otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + c.token}),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
			}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Shutdown(ctx)
			rec := tracetest.NewSpanRecorder()
			res := resource.NewSchemaless(attribute.String("service.name", "QA_CHAT"), attribute.String("aispend.org_id", "acme"))
			tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(rec))
			tracer := tp.Tracer("aispend-otlp-test")
			start := time.Now().Add(-time.Minute).Truncate(time.Second).Add(250 * time.Millisecond)
			end := start.Add(1500 * time.Millisecond)
			spanOf := func(name string, status codes.Code, msg string, attrs ...attribute.KeyValue) trace.SpanContext {
				_, sp := tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
				if status != codes.Unset {
					sp.SetStatus(status, msg)
				}
				sp.End(trace.WithTimestamp(end))
				return sp.SpanContext()
			}
			chat := spanOf("chat", codes.Unset, "",
				attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "anthropic"),
				attribute.String("gen_ai.request.model", "claude-sonnet"), attribute.String("gen_ai.response.model", "claude-sonnet-4-5"),
				attribute.Int("gen_ai.usage.input_tokens", 500), attribute.Int("gen_ai.usage.output_tokens", 300),
				attribute.String("user.id", "go-user"))
			cached := spanOf("cached", codes.Ok, "",
				attribute.String("gen_ai.system", "anthropic"), attribute.String("gen_ai.request.model", "claude-sonnet-4-5"),
				attribute.Int("gen_ai.usage.prompt_tokens", 1200), attribute.Int("gen_ai.usage.completion_tokens", 300),
				attribute.Int("gen_ai.usage.cache_read.input_tokens", 1000), attribute.Int("gen_ai.usage.cache_creation.input_tokens", 100),
				attribute.String("aispend.service", "MATCH_EXPLANATION"), attribute.String("enduser.id", "go-user-2"))
			failed := spanOf("failed", codes.Error, "Overloaded",
				attribute.String("gen_ai.provider.name", "anthropic"), attribute.String("gen_ai.request.model", "claude-sonnet-4-5"),
				attribute.Int("gen_ai.usage.input_tokens", 10), attribute.Int("gen_ai.usage.output_tokens", 0),
				attribute.String("error.type", "overloaded_error"))
			spanOf("GET /health", codes.Unset, "", attribute.String("http.request.method", "GET"))
			invalid := spanOf("no model", codes.Unset, "", attribute.Int("gen_ai.usage.input_tokens", 5))
			spans := rec.Ended()

			// The partial success is the exporter's error; every other span is stored.
			err = exp.ExportSpans(ctx, spans)
			if err == nil || !strings.Contains(err.Error(), "OTLP partial success") || !strings.Contains(err.Error(), "(1 spans rejected)") ||
				!strings.Contains(err.Error(), invalid.SpanID().String()) || !strings.Contains(err.Error(), "gen_ai.response.model / gen_ai.request.model: required") {
				t.Fatalf("export: %v; want a partial success naming the span without a model", err)
			}
			// The exporter's retry after a lost answer: the same spans again.
			if err := exp.ExportSpans(ctx, spans); err == nil || !strings.Contains(err.Error(), "(1 spans rejected)") {
				t.Fatalf("re-export: %v", err)
			}

			n, total := c.count(t)
			if n != 3*(i+1) {
				t.Fatalf("events stored = %d, want %d", n, 3*(i+1))
			}
			// 7.80 + 7.1175 + 0.039 per encoding
			equalCost(t, "total", total, decimal.RequireFromString("14.9565").Mul(decimal.NewFromInt(int64(i+1))).String())
			e := c.event(t, otelEventID(chat))
			if e.service != "QA_CHAT" || e.model != "claude-sonnet-4-5" || e.provider != "anthropic" || e.in != 500 || e.out != 300 ||
				e.userID != "go-user" || e.orgID != "acme" || !e.success || e.duration != 1500 || !e.occurredAt.Equal(end) {
				t.Errorf("chat span: %+v (end %v)", e, end)
			}
			equalCost(t, "chat span", e.cost, "7.80")
			e = c.event(t, otelEventID(cached))
			if e.service != "MATCH_EXPLANATION" || e.in != 1200 || e.out != 300 || e.cacheRead != 1000 || e.cacheWrite != 100 ||
				e.userID != "go-user-2" || !e.success {
				t.Errorf("cached span: %+v", e)
			}
			equalCost(t, "cached span", e.cost, "7.1175")
			e = c.event(t, otelEventID(failed))
			if e.success || e.errText != "overloaded_error: Overloaded" || e.in != 10 || e.out != 0 {
				t.Errorf("failed span: %+v", e)
			}
			equalCost(t, "failed span", e.cost, "0.039")

			k := i + 1
			wantMetrics(t, c.metrics(t),
				fmt.Sprintf(`aispend_otlp_spans_total{result="event"} %d`, 6*k),
				fmt.Sprintf(`aispend_otlp_spans_total{result="ignored"} %d`, 2*k),
				fmt.Sprintf(`aispend_otlp_spans_total{result="rejected"} %d`, 2*k),
				fmt.Sprintf(`aispend_events_total{result="accepted"} %d`, 3*k),
				fmt.Sprintf(`aispend_events_total{result="duplicate"} %d`, 3*k),
			)
		})
	}
}

// Ensures the exporter sees a wrong token as a permanent failure (the OTLP 401 with its
// google.rpc.Status message) and nothing is stored. (A database that is gone, answered 503,
// is TestTracesDatabaseGoneGoExporter in collect.)
func TestOTLPGoExporterRefused(t *testing.T) {
	c := startOTLPCollector(t)
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, sp := tp.Tracer("t").Start(ctx, "chat", trace.WithAttributes(attribute.String("gen_ai.request.model", "m"),
		attribute.Int("gen_ai.usage.input_tokens", 1)))
	sp.End()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://"+c.addr+"/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer wrong"}))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	err = exp.ExportSpans(ctx, rec.Ended())
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "missing or invalid bearer token") {
		t.Fatalf("wrong token: %v", err)
	}
	if n, _ := c.count(t); n != 0 {
		t.Fatalf("events stored = %d", n)
	}
}

// Ensures the OpenTelemetry JavaScript SDK (@opentelemetry/sdk-trace-base) and its OTLP/HTTP
// exporter (@opentelemetry/exporter-trace-otlp-http, OTLP JSON), pinned in collect/otlpjs,
// deliver GenAI spans as priced events; that their gzip re-export stores nothing twice; and
// that the exporter reports the partial success of the invalid span.
func TestOTLPJavaScriptExporter(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: install Node.js 18.19+ (apt-get install -y nodejs npm), then run make otlpjs")
	}
	dir, err := filepath.Abs("../../collect/otlpjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@opentelemetry", "exporter-trace-otlp-http")); err != nil {
		t.Fatalf("the pinned OpenTelemetry JavaScript packages are not installed: run make otlpjs (npm ci in collect/otlpjs): %v", err)
	}
	c := startOTLPCollector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "export.mjs"))
	cmd.Env = append(os.Environ(), "AISPEND_URL=http://"+c.addr, "AISPEND_TOKEN="+c.token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node export.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		Spans []struct{ Name, TraceID, SpanID string }
		Start string
		Retry struct {
			Code  int
			Error string
		}
		Warnings []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if got.Retry.Code != 0 {
		t.Fatalf("the gzip re-export failed: %+v", got.Retry)
	}
	id := map[string]string{}
	for _, s := range got.Spans {
		id[s.Name] = "otel:" + s.TraceID + ":" + s.SpanID
	}
	// One partial success per export that held the invalid span: its own and the re-export.
	partial := 0
	for _, w := range got.Warnings {
		if strings.Contains(w, "Partial Success") && (strings.Contains(w, `"rejectedSpans":"1"`) || strings.Contains(w, `"rejectedSpans":1`)) {
			partial++
			if !strings.Contains(w, strings.TrimPrefix(id["no model"], "otel:")) || !strings.Contains(w, "gen_ai.response.model / gen_ai.request.model: required") {
				t.Errorf("partial success does not name the span without a model: %s", w)
			}
		}
	}
	if partial != 2 {
		t.Errorf("partial successes reported = %d, want 2; warnings %q", partial, got.Warnings)
	}

	n, total := c.count(t)
	if n != 3 {
		t.Fatalf("events stored = %d, want 3", n)
	}
	equalCost(t, "total", total, "14.9565")
	var startNS int64
	fmt.Sscan(got.Start, &startNS)
	start := time.Unix(0, startNS)
	e := c.event(t, id["chat claude-sonnet-4-5"])
	if e.service != "QA_CHAT" || e.model != "claude-sonnet-4-5" || e.provider != "anthropic" || e.in != 500 || e.out != 300 ||
		e.userID != "js-user" || e.orgID != "acme" || !e.success || e.duration != 1500 || !e.occurredAt.Equal(start.Add(1500*time.Millisecond)) {
		t.Errorf("chat span: %+v (start %v)", e, start)
	}
	equalCost(t, "chat span", e.cost, "7.80")
	e = c.event(t, id["older names"])
	if e.service != "MATCH_EXPLANATION" || e.in != 1200 || e.out != 300 || e.cacheRead != 1000 || e.cacheWrite != 100 || e.userID != "js-user-2" {
		t.Errorf("older names span: %+v", e)
	}
	equalCost(t, "older names span", e.cost, "7.1175")
	e = c.event(t, id["failed"])
	if e.success || e.errText != "overloaded_error: Overloaded" {
		t.Errorf("failed span: %+v", e)
	}
	equalCost(t, "failed span", e.cost, "0.039")
	wantMetrics(t, c.metrics(t),
		`aispend_otlp_spans_total{result="event"} 6`,
		`aispend_otlp_spans_total{result="ignored"} 2`,
		`aispend_otlp_spans_total{result="rejected"} 2`,
		`aispend_events_total{result="accepted"} 3`,
		`aispend_events_total{result="duplicate"} 3`,
	)
}
