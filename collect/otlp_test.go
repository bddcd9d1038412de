package collect_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// testSpan is one span of a test export.
type testSpan struct {
	trace      byte // trace id: 16 times this byte
	id         byte // span id: 8 times this byte
	start, end time.Time
	attrs      map[string]any
	status     ptrace.StatusCode
	message    string
}

func traceID(b byte) pcommon.TraceID { return pcommon.TraceID(bytes.Repeat([]byte{b}, 16)) }
func spanID(b byte) pcommon.SpanID   { return pcommon.SpanID(bytes.Repeat([]byte{b}, 8)) }

// eventID is the event id the collector derives from a test span's ids.
func eventID(tr, id byte) string {
	return "otel:" + strings.Repeat(fmt.Sprintf("%02x", tr), 16) + ":" + strings.Repeat(fmt.Sprintf("%02x", id), 8)
}

// exportRequest builds an ExportTraceServiceRequest with one resource and one scope.
func exportRequest(t *testing.T, resource map[string]any, spans ...testSpan) ptraceotlp.ExportRequest {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if err := rs.Resource().Attributes().FromRaw(resource); err != nil {
		t.Fatal(err)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("chat")
		sp.SetTraceID(traceID(s.trace))
		sp.SetSpanID(spanID(s.id))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.end))
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
		sp.Status().SetCode(s.status)
		sp.Status().SetMessage(s.message)
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

func protoBody(t *testing.T, req ptraceotlp.ExportRequest) []byte {
	t.Helper()
	b, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

type traceReq struct {
	ctype, encoding, auth string
	body                  []byte
}

func postTraces(h http.Handler, tr traceReq) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(tr.body))
	if tr.ctype != "" {
		r.Header.Set("Content-Type", tr.ctype)
	}
	if tr.encoding != "" {
		r.Header.Set("Content-Encoding", tr.encoding)
	}
	if tr.auth == "" {
		tr.auth = "Bearer secret-1"
	}
	if tr.auth != "none" {
		r.Header.Set("Authorization", tr.auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// exportResponse decodes a 200 answer in the encoding its Content-Type names.
func exportResponse(t *testing.T, w *httptest.ResponseRecorder) ptraceotlp.ExportResponse {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("status %d, want 200; body %q", w.Code, w.Body)
	}
	resp := ptraceotlp.NewExportResponse()
	var err error
	switch ct := w.Header().Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = resp.UnmarshalProto(w.Body.Bytes())
	case "application/json":
		err = resp.UnmarshalJSON(w.Body.Bytes())
	default:
		t.Fatalf("Content-Type %q", ct)
	}
	if err != nil {
		t.Fatalf("decode ExportTraceServiceResponse %q: %v", w.Body, err)
	}
	return resp
}

// rpcStatus decodes a failure answer: a google.rpc.Status in the request's encoding.
func rpcStatus(t *testing.T, w *httptest.ResponseRecorder, wantType string) *rpcstatus.Status {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != wantType {
		t.Fatalf("Content-Type %q, want %q; body %q", ct, wantType, w.Body)
	}
	st := &rpcstatus.Status{}
	var err error
	if wantType == "application/json" {
		err = protojson.Unmarshal(w.Body.Bytes(), st)
	} else {
		err = proto.Unmarshal(w.Body.Bytes(), st)
	}
	if err != nil {
		t.Fatalf("decode Status %q: %v", w.Body, err)
	}
	return st
}

type storedEvent struct {
	service, model, provider, userID, orgID, endpoint, errText, cost, tags string
	in, out, cacheRead, cacheWrite, reasoning, duration                    int64
	success, cacheHit                                                      bool
	occurredAt                                                             time.Time
}

func (f *fixture) event(t *testing.T, id string) storedEvent {
	t.Helper()
	var e storedEvent
	err := f.pool.QueryRow(context.Background(), `SELECT service, model, provider, coalesce(user_id, ''), coalesce(org_id, ''), coalesce(endpoint, ''), coalesce(error, ''),
		coalesce(cost::text, ''), coalesce(tags::text, ''), input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
		reasoning_tokens, coalesce(duration_ms, -1), success, cache_hit, occurred_at FROM events WHERE event_id = $1`, id).
		Scan(&e.service, &e.model, &e.provider, &e.userID, &e.orgID, &e.endpoint, &e.errText, &e.cost, &e.tags,
			&e.in, &e.out, &e.cacheRead, &e.cacheWrite, &e.reasoning, &e.duration, &e.success, &e.cacheHit, &e.occurredAt)
	if err != nil {
		t.Fatalf("read event %s: %v", id, err)
	}
	return e
}

func sameCost(t *testing.T, id, got, want string) {
	t.Helper()
	g, err := decimal.NewFromString(got)
	if err != nil || !g.Equal(decimal.RequireFromString(want)) {
		t.Errorf("%s: cost %q, want %s", id, got, want)
	}
}

func metric(t *testing.T, h http.Handler, line string) bool {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return strings.Contains(w.Body.String(), line+"\n")
}

// Ensures every mapping of the README's OpenTelemetry table: current and older GenAI names,
// span times, status and error.type, resource and span attributes; that spans without usage
// are ignored and counted, invalid GenAI spans are refused with a partial success that names
// them while the rest are stored, and that re-sending the export stores nothing twice.
func TestTracesMapping(t *testing.T) {
	f := newFixture(t, collect.Config{})
	t0 := now.Add(-time.Hour)
	req := exportRequest(t, map[string]any{"service.name": "QA_CHAT", "aispend.org_id": "acme", "aispend.tag.env": "prod"},
		testSpan{trace: 1, id: 1, start: t0, end: t0.Add(1234567 * time.Microsecond), attrs: map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.system": "ignored-older-name",
			"gen_ai.request.model": "claude-sonnet", "gen_ai.response.model": "claude-sonnet-4-5",
			"gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 300,
			"gen_ai.usage.prompt_tokens": 9999, // the current name wins
			"user.id":                    "u-42", "aispend.endpoint": "/ask", "aispend.tag.team": "search", "aispend.tag.env": "staging",
		}},
		// Older names, the service and org from span attributes, an ok status with a stale message.
		testSpan{trace: 1, id: 2, start: t0, end: t0.Add(2 * time.Second), status: ptrace.StatusCodeOk, message: "ignored", attrs: map[string]any{
			"gen_ai.system": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.usage.prompt_tokens": 1200, "gen_ai.usage.completion_tokens": 300,
			"gen_ai.usage.cache_read.input_tokens": 1000, "gen_ai.usage.cache_creation.input_tokens": 100,
			"gen_ai.usage.reasoning.output_tokens": 120,
			"enduser.id":                           "u-7", "aispend.service": "MATCH_EXPLANATION", "aispend.org_id": "globex", "aispend.cache_hit": true,
		}},
		// A failed call: status error with its message, and error.type.
		testSpan{trace: 2, id: 3, start: t0, end: t0.Add(30 * time.Second), status: ptrace.StatusCodeError, message: "Too many requests",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-x", "error.type": "rate_limit_exceeded",
				"gen_ai.usage.input_tokens": 40}},
		// Counts sent as a double and a string, as some SDKs do.
		testSpan{trace: 2, id: 4, start: t0, end: t0.Add(time.Millisecond), attrs: map[string]any{
			"gen_ai.provider.name": "anthropic", "gen_ai.response.model": "claude-sonnet-4-5",
			"gen_ai.usage.input_tokens": 500.0, "gen_ai.usage.output_tokens": "300"}},
		// Not GenAI: ignored.
		testSpan{trace: 3, id: 5, start: t0, end: t0.Add(time.Second), attrs: map[string]any{"http.request.method": "GET"}},
		testSpan{trace: 3, id: 6, start: t0, end: t0.Add(time.Second), attrs: map[string]any{"gen_ai.request.model": "m"}},
		// GenAI usage but invalid: no model; a count that is not an integer; cache beyond input.
		testSpan{trace: 4, id: 7, start: t0, end: t0.Add(time.Second), attrs: map[string]any{"gen_ai.usage.input_tokens": 5}},
		testSpan{trace: 4, id: 8, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1.5, "gen_ai.usage.output_tokens": 1}},
		testSpan{trace: 4, id: 9, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 11}},
	)
	w := postTraces(f.h, traceReq{ctype: "application/x-protobuf", body: protoBody(t, req)})
	resp := exportResponse(t, w)
	ps := resp.PartialSuccess()
	if ps.RejectedSpans() != 3 {
		t.Fatalf("rejected_spans = %d, want 3; message %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	for _, want := range []string{
		"3 of 7 spans with GenAI usage refused",
		"span " + strings.Repeat("04", 16) + ":" + strings.Repeat("07", 8) + ": gen_ai.response.model / gen_ai.request.model: required",
		"gen_ai.usage.input_tokens / gen_ai.usage.prompt_tokens: gen_ai.usage.input_tokens must be an integer, got 1.5",
		"gen_ai.usage.cache_read.input_tokens: cache_read_tokens + cache_write_tokens (11) exceed input_tokens (10)",
	} {
		if !strings.Contains(ps.ErrorMessage(), want) {
			t.Errorf("partial success message lacks %q:\n%s", want, ps.ErrorMessage())
		}
	}
	if n := f.rows(t); n != 4 {
		t.Fatalf("rows = %d, want 4", n)
	}

	e := f.event(t, eventID(1, 1))
	if e.service != "QA_CHAT" || e.model != "claude-sonnet-4-5" || e.provider != "anthropic" || e.in != 500 || e.out != 300 ||
		e.userID != "u-42" || e.orgID != "acme" || e.endpoint != "/ask" || e.duration != 1234 || !e.success || e.errText != "" ||
		e.tags != `{"env": "staging", "team": "search"}` || !e.occurredAt.Equal(t0.Add(1234567*time.Microsecond)) {
		t.Errorf("span 1: %+v", e)
	}
	sameCost(t, "span 1", e.cost, "7.80") // the contract's example: 500 × 3 + 300 × 15 USD/M at 1,300

	e = f.event(t, eventID(1, 2))
	if e.service != "MATCH_EXPLANATION" || e.model != "claude-sonnet-4-5" || e.provider != "anthropic" || e.in != 1200 || e.out != 300 ||
		e.cacheRead != 1000 || e.cacheWrite != 100 || e.reasoning != 120 || e.userID != "u-7" || e.orgID != "globex" ||
		!e.cacheHit || !e.success || e.errText != "" || e.duration != 2000 || e.tags != `{"env": "prod"}` {
		t.Errorf("span 2: %+v", e)
	}
	// (100 × 3 + 1,000 × 0.30 + 100 × 3.75 + 300 × 15) / 10^6 USD × 1,300 = 7.1175
	sameCost(t, "span 2", e.cost, "7.1175")

	e = f.event(t, eventID(2, 3))
	if e.success || e.errText != "rate_limit_exceeded: Too many requests" || e.in != 40 || e.out != 0 || e.provider != "openai" ||
		e.duration != 30000 || e.cost != "" {
		t.Errorf("span 3 (failed, unpriced): %+v", e)
	}
	e = f.event(t, eventID(2, 4))
	if e.in != 500 || e.out != 300 || e.duration != 1 {
		t.Errorf("span 4 (double and string counts): %+v", e)
	}
	sameCost(t, "span 4", e.cost, "7.80")

	for _, line := range []string{
		`aispend_otlp_spans_total{result="event"} 4`,
		`aispend_otlp_spans_total{result="ignored"} 2`,
		`aispend_otlp_spans_total{result="rejected"} 3`,
		`aispend_events_total{result="accepted"} 4`,
		`aispend_events_total{result="duplicate"} 0`,
	} {
		if !metric(t, f.h, line) {
			t.Errorf("metrics lack %q", line)
		}
	}

	// An exporter's retry of the same export: every stored span is a duplicate.
	w = postTraces(f.h, traceReq{ctype: "application/x-protobuf", body: protoBody(t, req)})
	if resp := exportResponse(t, w); resp.PartialSuccess().RejectedSpans() != 3 {
		t.Fatalf("retry: rejected_spans = %d", resp.PartialSuccess().RejectedSpans())
	}
	if n := f.rows(t); n != 4 {
		t.Fatalf("rows after the retry = %d, want 4", n)
	}
	if !metric(t, f.h, `aispend_events_total{result="duplicate"} 4`) || !metric(t, f.h, `aispend_events_total{result="accepted"} 4`) {
		t.Error("the retry was not counted as 4 duplicates")
	}
}

// Ensures text that is not valid UTF-8, which protobuf lets through and PostgreSQL refuses, is
// stored with replacement characters instead of failing the commit.
func TestTracesInvalidUTF8(t *testing.T) {
	f := newFixture(t, collect.Config{})
	t0 := now.Add(-time.Hour)
	req := exportRequest(t, map[string]any{"service.name": "S"}, testSpan{trace: 1, id: 1, start: t0, end: t0.Add(time.Second),
		status: ptrace.StatusCodeError, message: "bad \xff byte",
		attrs: map[string]any{"gen_ai.request.model": "m\xfe", "gen_ai.usage.input_tokens": 1, "user.id": "\xc3", "aispend.tag.k\xff": "v\xff"}})
	exportResponse(t, postTraces(f.h, traceReq{ctype: "application/x-protobuf", body: protoBody(t, req)}))
	e := f.event(t, eventID(1, 1))
	if e.model != "m\uFFFD" || e.userID != "\uFFFD" || e.errText != "bad \uFFFD byte" || e.tags != "{\"k\uFFFD\": \"v\uFFFD\"}" {
		t.Errorf("stored model %q user %q error %q tags %q", e.model, e.userID, e.errText, e.tags)
	}
}

// Ensures a full success answers an empty ExportTraceServiceResponse (partial_success unset) in
// the request's encoding, for protobuf and JSON, plain and gzip, and that OTLP JSON (hex ids,
// integer enums, int64 as strings, unknown fields) decodes as the specification says.
func TestTracesEncodings(t *testing.T) {
	f := newFixture(t, collect.Config{})
	t0 := now.Add(-time.Hour)
	span := func(id byte) ptraceotlp.ExportRequest {
		return exportRequest(t, map[string]any{"service.name": "QA_CHAT"}, testSpan{trace: 9, id: id, start: t0, end: t0.Add(time.Second),
			attrs: map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
				"gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 300}})
	}
	jsonBody := func(id byte) []byte {
		b, err := span(id).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name, ctype, encoding string
		body                  []byte
	}{
		{"protobuf", "application/x-protobuf", "", protoBody(t, span(1))},
		{"protobuf gzip", "application/x-protobuf", "gzip", gzipped(protoBody(t, span(2)))},
		{"JSON", "application/json", "", jsonBody(3)},
		{"JSON gzip", "application/json; charset=utf-8", "gzip", gzipped(jsonBody(4))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := postTraces(f.h, traceReq{ctype: tc.ctype, encoding: tc.encoding, body: tc.body})
			resp := exportResponse(t, w)
			if want := strings.Split(tc.ctype, ";")[0]; w.Header().Get("Content-Type") != want {
				t.Errorf("answered in %q, want %q", w.Header().Get("Content-Type"), want)
			}
			if resp.PartialSuccess().RejectedSpans() != 0 || resp.PartialSuccess().ErrorMessage() != "" {
				t.Errorf("partial_success set on a full success: %q", w.Body)
			}
		})
	}
	// Written by hand as the JavaScript exporter writes it.
	t1 := t0.UnixNano()
	handJSON := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"QA_CHAT"}}]},
		"scopeSpans":[{"scope":{"name":"js"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
		"name":"chat","kind":3,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","status":{"code":2,"message":"overloaded"},
		"attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4-5"}},
		{"key":"gen_ai.provider.name","value":{"stringValue":"anthropic"}},
		{"key":"gen_ai.usage.input_tokens","value":{"intValue":500}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"300"}}],
		"somethingNew":true}]}]}]}`, t1, t1+1500*int64(time.Millisecond))
	w := postTraces(f.h, traceReq{ctype: "application/json", body: []byte(handJSON)})
	exportResponse(t, w)
	e := f.event(t, "otel:5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174")
	if e.in != 500 || e.out != 300 || e.duration != 1500 || e.success || e.errText != "overloaded" {
		t.Errorf("hand-written JSON span: %+v", e)
	}
	sameCost(t, "hand-written JSON span", e.cost, "7.80")
	if n := f.rows(t); n != 5 {
		t.Fatalf("rows = %d, want 5", n)
	}

	// An empty export is a success.
	w = postTraces(f.h, traceReq{ctype: "application/x-protobuf", body: nil})
	if resp := exportResponse(t, w); resp.PartialSuccess().RejectedSpans() != 0 || w.Body.Len() != 0 {
		t.Errorf("empty export: %q", w.Body)
	}
	w = postTraces(f.h, traceReq{ctype: "application/json", body: []byte(`{}`)})
	if exportResponse(t, w); w.Body.String() != "{}" {
		t.Errorf("empty JSON export answered %q", w.Body)
	}
}

// Ensures each refusal has the OTLP status (400 not retried, 503 retried with Retry-After) and
// a google.rpc.Status body in the request's encoding, and that nothing of a refused export is
// stored.
func TestTracesRefusals(t *testing.T) {
	f := newFixture(t, collect.Config{MaxEvents: 2, MaxBodyBytes: 4096})
	t0 := now.Add(-time.Hour)
	genAI := func(ids ...byte) []byte {
		var spans []testSpan
		for _, id := range ids {
			spans = append(spans, testSpan{trace: 1, id: id, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
				"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1}})
		}
		return protoBody(t, exportRequest(t, map[string]any{"service.name": "S"}, spans...))
	}
	const pb, js = "application/x-protobuf", "application/json"
	// Mostly zeros: compresses far below the limit, expands beyond it.
	bomb := gzipped(append(genAI(1), make([]byte, 8192)...))
	for _, tc := range []struct {
		name   string
		req    traceReq
		status int
		answer string // Content-Type of the Status
		has    string
	}{
		{"no token", traceReq{ctype: pb, auth: "none", body: genAI(1)}, 401, pb, "bearer token"},
		{"wrong token, JSON", traceReq{ctype: js, auth: "Bearer nope", body: []byte(`{}`)}, 401, js, "bearer token"},
		{"unsupported Content-Type", traceReq{ctype: "text/plain", body: genAI(1)}, 415, js, "application/x-protobuf or application/json"},
		{"no Content-Type", traceReq{body: genAI(1)}, 415, js, "Content-Type"},
		{"unsupported Content-Encoding", traceReq{ctype: pb, encoding: "br", body: genAI(1)}, 415, pb, `"br" is not supported`},
		{"undecodable protobuf", traceReq{ctype: pb, body: []byte("\x0a\xff\xff\xff\xff\x0fnot protobuf")}, 400, pb, "undecodable ExportTraceServiceRequest"},
		{"undecodable JSON", traceReq{ctype: js, body: []byte(`{"resourceSpans":[{`)}, 400, js, "undecodable ExportTraceServiceRequest"},
		{"protobuf sent as JSON", traceReq{ctype: js, body: genAI(1)}, 400, js, "undecodable"},
		{"gzip header on a plain body", traceReq{ctype: pb, encoding: "gzip", body: genAI(1)}, 400, pb, "gzip but the body is not"},
		{"truncated gzip", traceReq{ctype: pb, encoding: "gzip", body: gzipped(genAI(1))[:30]}, 400, pb, "corrupt gzip"},
		{"body too large", traceReq{ctype: pb, body: make([]byte, 5000)}, 413, pb, "larger than 4096"},
		{"too large after decompression", traceReq{ctype: pb, encoding: "gzip", body: bomb}, 413, pb, "larger than 4096"},
		{"too many GenAI spans", traceReq{ctype: pb, body: genAI(1, 2, 3)}, 413, pb, "at most 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := postTraces(f.h, tc.req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, tc.status, w.Body)
			}
			st := rpcStatus(t, w, tc.answer)
			if !strings.Contains(st.Message, tc.has) {
				t.Errorf("Status.message %q lacks %q", st.Message, tc.has)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.status == 400 {
				if len(st.Details) != 1 {
					t.Fatalf("400 without a BadRequest detail: %v", st)
				}
				var br errdetails.BadRequest
				if err := st.Details[0].UnmarshalTo(&br); err != nil || len(br.FieldViolations) == 0 {
					t.Errorf("detail is not a BadRequest: %v %v", st.Details[0], err)
				}
			}
		})
	}
	if n := f.rows(t); n != 0 {
		t.Fatalf("rows = %d after refused exports, want 0", n)
	}
	// Two GenAI spans (the limit) and any number of other spans pass.
	w := postTraces(f.h, traceReq{ctype: pb, body: genAI(1, 2)})
	exportResponse(t, w)
	if n := f.rows(t); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
}

// Ensures a count sent as the smallest int64 (what marks a count the span does not carry) is
// refused like any negative count, not stored as an absent one.
func TestTracesSmallestInt(t *testing.T) {
	f := newFixture(t, collect.Config{})
	t0 := now.Add(-time.Hour)
	req := exportRequest(t, map[string]any{"service.name": "S"},
		testSpan{trace: 5, id: 1, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 1,
			"gen_ai.usage.cache_read.input_tokens": int64(math.MinInt64)}},
		testSpan{trace: 5, id: 2, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": int64(math.MinInt64)}},
		testSpan{trace: 5, id: 3, start: t0, end: t0.Add(time.Second), attrs: map[string]any{
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": -1}},
	)
	resp := exportResponse(t, postTraces(f.h, traceReq{ctype: "application/x-protobuf", body: protoBody(t, req)}))
	ps := resp.PartialSuccess()
	if ps.RejectedSpans() != 3 {
		t.Fatalf("rejected_spans = %d, want 3; message %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	for _, want := range []string{"gen_ai.usage.cache_read.input_tokens: must be an integer ≥ 0", "gen_ai.usage.output_tokens"} {
		if !strings.Contains(ps.ErrorMessage(), want) {
			t.Errorf("partial success message lacks %q:\n%s", want, ps.ErrorMessage())
		}
	}
	if n := f.rows(t); n != 0 {
		t.Fatalf("rows = %d, want 0", n)
	}
}

// Ensures an unreachable database or a saturated server answers 503 with Retry-After (which
// OTLP exporters retry) and a Status in the request's encoding, never a 500.
func TestTracesUnavailable(t *testing.T) {
	t0 := now.Add(-time.Hour)
	req := exportRequest(t, map[string]any{"service.name": "S"}, testSpan{trace: 1, id: 1, start: t0, end: t0.Add(time.Second),
		attrs: map[string]any{"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1}})
	jsonBody, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{"application/x-protobuf": protoBody(t, req), "application/json": jsonBody}
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
			for ctype, b := range bodies {
				w := postTraces(h, traceReq{ctype: ctype, body: b})
				if w.Code != 503 || w.Header().Get("Retry-After") == "" {
					t.Fatalf("%s: status %d Retry-After %q; want 503 with Retry-After; body %q", ctype, w.Code, w.Header().Get("Retry-After"), w.Body)
				}
				if st := rpcStatus(t, w, ctype); !strings.Contains(st.Message, "retry later") {
					t.Errorf("%s: Status.message %q", ctype, st.Message)
				}
			}
		})
	}
}

// Ensures the Go SDK's OTLP exporter sees a collector whose database is gone as a retryable
// failure (503 with Retry-After and the Status message), never as a permanent refusal.
func TestTracesDatabaseGoneGoExporter(t *testing.T) {
	pool := pgtest.Connect(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	store := pgstore.New(pool, pgstore.Options{})
	defer store.Close()
	h := collect.NewServer(collect.Config{Prices: prices(), Tokens: []string{"tok"}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), store, pool, nil, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, sp := tp.Tracer("t").Start(ctx, "chat", oteltrace.WithAttributes(attribute.String("gen_ai.request.model", "m"),
		attribute.Int("gen_ai.usage.input_tokens", 1)))
	sp.End()
	for _, enc := range []otlptracehttp.Encoding{otlptracehttp.EncodingProtobuf, otlptracehttp.EncodingJSON} {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"), otlptracehttp.WithEncoding(enc),
			otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer tok"}), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		if err != nil {
			t.Fatal(err)
		}
		err = exp.ExportSpans(ctx, rec.Ended())
		if err == nil || !strings.Contains(err.Error(), "retry-able request failure") || !strings.Contains(err.Error(), "database unavailable") {
			t.Errorf("encoding %d: %v; want a retryable failure naming the database", enc, err)
		}
		exp.Shutdown(ctx)
	}
}
