package collect

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
)

// BenchmarkDecodeValidate measures the CPU cost of the request path before the database: body
// → events → validated, priced rows, for a request of 100 events.
func BenchmarkDecodeValidate(b *testing.B) {
	now := time.Now()
	var evs []map[string]any
	for i := 0; i < 100; i++ {
		evs = append(evs, map[string]any{
			"event_id": fmt.Sprintf("0193b5c2-7d4e-7c1a-9f00-%012d", i), "occurred_at": now.Add(-time.Minute).Format(time.RFC3339Nano),
			"service": "QA_CHAT", "model": "claude-sonnet-4-5", "provider": "anthropic", "input_tokens": 1200, "output_tokens": 300,
			"cache_read_tokens": 400, "duration_ms": 900, "user_id": "user-42", "org_id": "org-7", "endpoint": "/v1/chat",
		})
	}
	body, _ := json.Marshal(evs)
	prices := pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, []pricing.Price{{
		Model: "claude-sonnet-4-5", Provider: "anthropic", Input: decimal.NewFromInt(3), CacheRead: decimal.RequireFromString("0.3"),
		CacheWrite: decimal.RequireFromString("3.75"), Output: decimal.NewFromInt(15)}})
	rules := Rules{Now: now, FutureSkew: 5 * time.Minute, Prices: prices}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		events, status, _ := decodeEvents(body, false, 1000)
		if status != 0 {
			b.Fatal(status)
		}
		for i := range events {
			if _, ps := events[i].ev.Validate(i, rules); ps != nil {
				b.Fatal(ps)
			}
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
