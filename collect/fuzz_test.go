package collect

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/aispend/aispend/collect/pricing"
)

// FuzzDecodeEvents ensures, for any body:
//   - decoding, validation and the handler never panic; the handler answers 200, or a 4xx
//     with a JSON error (a 422 listing every problem), never a 5xx;
//   - every event the validator accepts lies within the contract's limits and re-encodes to
//     JSON that decodes and validates to the same row;
//   - every body the standard library accepts as a JSON array of objects decodes to the same
//     events.
//
// The seed corpus is under testdata/fuzz/FuzzDecodeEvents.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"a","occurred_at":"2026-10-15T11:00:00Z","service":"S","model":"m","input_tokens":1,"output_tokens":2}`,
		`[{"event_id":"a","tags":{"k":"v"},"cost":"1.5","success":false},{"event_id":"b","cost":2e3,"duration_ms":5}]`,
		`[{"event_id":"\u00e9\ud83d\ude00","input_tokens":1.5,"extra":{"deep":[1,{"x":null}]}}]`,
		`[{"event_id":"a"},]`, `[`, `{"a":}`, `[1,2]`, `{"tags":{"a":1}}`, "[{\"event_id\":\"a\\u0000b\"}]",
		`{"input_tokens":99999999999999999999}`, `{"cost":"1e999999999"}`, `[{}]   x`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)
	rules := Rules{Now: now, FutureSkew: 5 * time.Minute, MaxAge: 90 * 24 * time.Hour, Prices: fuzzTable}
	h := NewServer(Config{Prices: fuzzTable, Now: func() time.Time { return now }, MaxAge: rules.MaxAge},
		slog.New(slog.NewTextHandler(io.Discard, nil)), acceptAll{}, nil, nil, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		var events []decoded
		var status int
		for _, ndjson := range []bool{true, false} {
			events, status, _ = decodeEvents(body, ndjson, 1000)
			if status != 0 {
				continue
			}
			for i := range events {
				row, ps := events[i].ev.Validate(i, rules)
				if ps = events[i].typeProblems(i, ps); len(ps) > 0 {
					continue
				}
				checkAccepted(t, row, rules)
				again := reencode(&events[i].ev)
				evs, st, msg := decodeEvents(again, false, 1)
				if st != 0 {
					t.Fatalf("event %d of %q re-encoded as %s: refused (%d %s)", i, body, again, st, msg)
				}
				row2, ps2 := evs[0].ev.Validate(i, rules)
				if ps2 = evs[0].typeProblems(i, ps2); len(ps2) > 0 || !sameRow(row, row2) {
					t.Fatalf("event %d of %q re-encoded as %s:\n%+v\n%+v\nproblems %v", i, body, again, row, row2, ps2)
				}
			}
		}
		for _, ctype := range []string{"application/json", "application/x-ndjson"} {
			r := httptest.NewRequest("POST", "/v1/events", bytes.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var rep struct {
				Accepted int
				Error    string
				Problems []Problem
			}
			if err := stdjson.Unmarshal(w.Body.Bytes(), &rep); err != nil {
				t.Fatalf("%s %q: answer %d is not JSON: %s", ctype, body, w.Code, w.Body)
			}
			switch {
			case w.Code == 200 && rep.Accepted > 0:
			case w.Code == 422 && rep.Error != "" && len(rep.Problems) > 0:
				for _, p := range rep.Problems {
					if p.Field == "" || p.Message == "" {
						t.Fatalf("%s %q: problem without field or message: %s", ctype, body, w.Body)
					}
				}
			case (w.Code == 400 || w.Code == 413) && rep.Error != "":
			default:
				t.Fatalf("%s %q: answered %d %s", ctype, body, w.Code, w.Body)
			}
		}

		// The last decode above was as a JSON body (not NDJSON): compare it with encoding/json.
		var std []stdjson.RawMessage
		if stdjson.Unmarshal(body, &std) != nil || len(std) == 0 || len(std) > 1000 {
			return
		}
		var want []Event
		for _, raw := range std {
			// Each object as it was sent, repeated keys included (a map would drop the earlier
			// ones, and with them a type error that both decoders report).
			if raw = bytes.TrimSpace(raw); raw[0] != '{' {
				return
			}
			e := NewEvent()
			if err := stdjson.Unmarshal(raw, &e); err != nil {
				return // type errors are reported, compared elsewhere
			}
			want = append(want, e)
		}
		if status != 0 {
			t.Fatalf("standard library accepts %q, decodeEvents refused it (%d)", body, status)
		}
		for i := range want {
			if events[i].typeErr != nil || !reflect.DeepEqual(events[i].ev, want[i]) {
				t.Fatalf("event %d of %q: got %+v want %+v", i, body, events[i].ev, want[i])
			}
		}
	})
}

var fuzzTable = pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.RequireFromString("1300")}, []pricing.Price{{
	Model: "m", From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	Input: decimal.RequireFromString("3"), CacheRead: decimal.RequireFromString("0.3"),
	CacheWrite: decimal.RequireFromString("3.75"), Output: decimal.RequireFromString("15"),
}})

// acceptAll is a store that takes every row.
type acceptAll struct{}

func (acceptAll) Insert(_ context.Context, rows []Row) (int, int, error) { return len(rows), 0, nil }

// checkAccepted fails the test if an accepted row breaks a rule of the contract.
func checkAccepted(t *testing.T, r Row, rules Rules) {
	t.Helper()
	for _, n := range []int64{r.InputTokens, r.OutputTokens, r.CacheReadTokens, r.CacheWriteTokens, r.ReasoningTokens} {
		if n < 0 || n > MaxTokens {
			t.Fatalf("accepted a token count of %d: %+v", n, r)
		}
	}
	if r.CacheReadTokens+r.CacheWriteTokens > r.InputTokens || r.ReasoningTokens > r.OutputTokens {
		t.Fatalf("accepted parts larger than their whole: %+v", r)
	}
	if r.DurationMS != absent && (r.DurationMS < 0 || r.DurationMS > MaxDurationMS) {
		t.Fatalf("accepted duration_ms %d", r.DurationMS)
	}
	if r.OccurredAt.After(rules.Now.Add(rules.FutureSkew)) || r.OccurredAt.Before(rules.Now.Add(-rules.MaxAge)) {
		t.Fatalf("accepted occurred_at %s", r.OccurredAt)
	}
	if n := utf8.RuneCountInString(r.EventID); n < 1 || n > maxIDLen || r.Service == "" || len(r.Service) > maxServiceLen || r.Model == "" {
		t.Fatalf("accepted id, service or model out of bounds: %+v", r)
	}
	// PostgreSQL text holds valid UTF-8 without NUL; anything else would fail the whole commit.
	for _, s := range []string{r.EventID, r.Service, r.Model, r.Provider, r.Error, r.UserID, r.OrgID, r.Endpoint, string(r.Tags)} {
		if !utf8.ValidString(s) || bytes.IndexByte([]byte(s), 0) >= 0 {
			t.Fatalf("accepted text PostgreSQL cannot store: %q", s)
		}
	}
	if r.Cost.Valid && r.Cost.Decimal.IsNegative() {
		t.Fatalf("accepted a negative cost: %s", r.Cost.Decimal)
	}
}

// reencode writes an event back as JSON: every field it carries, cost as an exact decimal string.
func reencode(e *Event) []byte {
	m := map[string]any{"success": e.Success, "cache_hit": e.CacheHit}
	for k, v := range map[string]string{"event_id": e.EventID, "occurred_at": e.OccurredAt, "service": e.Service, "model": e.Model,
		"provider": e.Provider, "currency": e.Currency, "error": e.Error, "user_id": e.UserID, "org_id": e.OrgID, "endpoint": e.Endpoint,
		"gen_ai.request.model": e.OTelModel, "gen_ai.provider.name": e.OTelProvider} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range map[string]Count{"input_tokens": e.InputTokens, "output_tokens": e.OutputTokens, "cache_read_tokens": e.CacheReadTokens,
		"cache_write_tokens": e.CacheWriteTokens, "cache_write_1h_tokens": e.CacheWrite1hTokens, "reasoning_tokens": e.ReasoningTokens, "duration_ms": e.DurationMS,
		"gen_ai.usage.input_tokens": e.OTelInput, "gen_ai.usage.output_tokens": e.OTelOutput,
		"gen_ai.usage.cache_read.input_tokens": e.OTelCacheRead, "gen_ai.usage.cache_creation.input_tokens": e.OTelCacheCreate} {
		if v != absent {
			m[k] = v
		}
	}
	if e.Cost != nil {
		if exp := e.Cost.Value.Exponent(); exp < 0 {
			m["cost"] = e.Cost.Value.StringFixed(-exp)
		} else {
			m["cost"] = e.Cost.Value.String()
		}
	}
	if e.Tags != nil {
		m["tags"] = e.Tags
	}
	b, _ := stdjson.Marshal(m)
	return b
}

// sameRow compares rows, decimals by value.
func sameRow(a, b Row) bool {
	for _, d := range [][2]decimal.NullDecimal{{a.Cost, b.Cost}, {a.SentCost, b.SentCost}, {a.FXRate, b.FXRate}} {
		if d[0].Valid != d[1].Valid || d[0].Valid && !d[0].Decimal.Equal(d[1].Decimal) {
			return false
		}
	}
	a.Cost, a.SentCost, a.FXRate = decimal.NullDecimal{}, decimal.NullDecimal{}, decimal.NullDecimal{}
	b.Cost, b.SentCost, b.FXRate = decimal.NullDecimal{}, decimal.NullDecimal{}, decimal.NullDecimal{}
	return reflect.DeepEqual(a, b)
}

// FuzzDecodeTraces checks POST /v1/traces on any body, as protobuf and as JSON: no panic, no
// 5xx, every answer in the request's encoding; and that the count made before decoding
// (otlpElements, which bounds memory) never undercounts the spans, events, links and
// attributes pdata then decodes.
func FuzzDecodeTraces(f *testing.F) {
	req := ptraceotlp.NewExportRequest()
	rs := req.Traces().ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "QA_CHAT")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	sp.SetStartTimestamp(pcommon.Timestamp(1760526000e9))
	sp.SetEndTimestamp(pcommon.Timestamp(1760526001e9))
	sp.Attributes().PutInt("gen_ai.usage.input_tokens", 10)
	sp.Attributes().PutStr("gen_ai.request.model", "claude-sonnet-4-5")
	sp.Attributes().PutEmptySlice("list").AppendEmpty().SetEmptyMap().PutBool("b", true)
	sp.Events().AppendEmpty().Attributes().PutDouble("d", 1.5)
	sp.Links().AppendEmpty().Attributes().PutStr("l", "x")
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	f.Add(pb)
	f.Add(js)
	f.Add([]byte{0x0a, 0x04, 0x12, 0x02, 0x12, 0x00})
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{},{}]}]}]}]}`))
	now := time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)
	h := NewServer(Config{Prices: fuzzTable, Now: func() time.Time { return now }, MaxAge: 90 * 24 * time.Hour, MaxBodyBytes: 64 << 10},
		slog.New(slog.NewTextHandler(io.Discard, nil)), acceptAll{}, nil, nil, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ctype := range []string{"application/x-protobuf", "application/json"} {
			r := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 || w.Header().Get("Content-Type") != ctype {
				t.Fatalf("%s body %q: %d %s %q", ctype, body, w.Code, w.Header().Get("Content-Type"), w.Body)
			}
		}
		req := ptraceotlp.NewExportRequest()
		if req.UnmarshalProto(body) != nil {
			return
		}
		if got, n := otlpElements(body), pdataElements(req.Traces()); got < n {
			t.Fatalf("body %q: counted %d elements before decoding, pdata decoded %d", body, got, n)
		}
	})
}

// pdataElements counts the spans, events, links and attributes (values inside arrays and maps
// included) of decoded traces.
func pdataElements(td ptrace.Traces) int {
	var attrs func(m pcommon.Map) int
	var value func(v pcommon.Value) int
	value = func(v pcommon.Value) int {
		switch v.Type() {
		case pcommon.ValueTypeSlice:
			n := 0
			for i := 0; i < v.Slice().Len(); i++ {
				n += 1 + value(v.Slice().At(i))
			}
			return n
		case pcommon.ValueTypeMap:
			return attrs(v.Map())
		}
		return 0
	}
	attrs = func(m pcommon.Map) int {
		n := 0
		m.Range(func(_ string, v pcommon.Value) bool {
			n += 1 + value(v)
			return true
		})
		return n
	}
	n := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		n += 1 + attrs(rs.Resource().Attributes())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			n += 1 + attrs(ss.Scope().Attributes())
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				n += 1 + attrs(sp.Attributes())
				for e := 0; e < sp.Events().Len(); e++ {
					n += 1 + attrs(sp.Events().At(e).Attributes())
				}
				for l := 0; l < sp.Links().Len(); l++ {
					n += 1 + attrs(sp.Links().At(l).Attributes())
				}
			}
		}
	}
	return n
}
