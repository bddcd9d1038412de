package client

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Ensures the zero values of Event mean what the wire means: success, no duration, no cost.
func TestEventWireFormat(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)
	cost := decimal.RequireFromString("1e-7")
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"defaults", Event{EventID: "a", OccurredAt: at, Service: "S", Model: "m"},
			`{"event_id":"a","service":"S","model":"m","input_tokens":0,"output_tokens":0,"occurred_at":"2026-03-04T05:06:07.890123456Z","success":true}`},
		{"everything", Event{EventID: "b", OccurredAt: at, Service: "S", Model: "m", Cost: &cost, Currency: "USD",
			Duration: 1500 * time.Microsecond, Failed: true, Error: "e", CacheHit: true, Tags: map[string]string{"k": "v"}},
			`{"event_id":"b","service":"S","model":"m","input_tokens":0,"output_tokens":0,"currency":"USD","error":"e","cache_hit":true,"tags":{"k":"v"},"occurred_at":"2026-03-04T05:06:07.890123456Z","cost":"0.0000001","success":false,"duration_ms":1}`},
		{"token parts", Event{EventID: "d", OccurredAt: at, Service: "S", Model: "m", InputTokens: 9, OutputTokens: 4, CacheReadTokens: 3, CacheWriteTokens: 2, CacheWrite1hTokens: 1, ReasoningTokens: 1},
			`{"event_id":"d","service":"S","model":"m","input_tokens":9,"output_tokens":4,"cache_read_tokens":3,"cache_write_tokens":2,"cache_write_1h_tokens":1,"reasoning_tokens":1,"occurred_at":"2026-03-04T05:06:07.890123456Z","success":true}`},
		{"sub-millisecond duration is still reported", Event{EventID: "c", OccurredAt: at, Service: "S", Model: "m", Duration: time.Microsecond},
			`{"event_id":"c","service":"S","model":"m","input_tokens":0,"output_tokens":0,"occurred_at":"2026-03-04T05:06:07.890123456Z","success":true,"duration_ms":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"86400", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// Ensures the back-off doubles from MinBackoff, stops at MaxBackoff, and stays within its
// jitter range (between half and all of the nominal delay).
func TestBackoff(t *testing.T) {
	c := &Client{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	nominal := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, d := range nominal {
		d *= time.Millisecond
		for range 200 {
			if got := c.backoff(i + 1); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", i+1, got, d/2, d)
			}
		}
	}
}
