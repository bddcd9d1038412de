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
