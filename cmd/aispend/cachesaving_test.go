package main

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
)

// Ensures a cache-read token saves the uncached input price less the cache-read price, converted
// at the configured rate and effective-dated like pricing: 1,000,000 tokens of claude-sonnet-4-5
// at USD 3 / M input and 0.30 / M cache read, at 1,300 KRW/USD, saved ₩3,510; a model without a
// price saves nothing that can be stated.
func TestCacheSaving(t *testing.T) {
	d := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	from := time.Date(2025, 9, 29, 0, 0, 0, 0, seoulZone)
	tbl := pricing.New("KRW", map[string]decimal.Decimal{"USD": d("1300")}, []pricing.Price{
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: from, Input: d("3"), CacheRead: d("0.30"), CacheWrite: d("3.75"), Output: d("15")},
	})
	save := cacheSaving(tbl)
	if got, ok := save("claude-sonnet-4-5", "anthropic", from.AddDate(0, 1, 0), 1_000_000); !ok || !got.Equal(d("3510")) {
		t.Errorf("saving %s, %v; want 3510", got, ok)
	}
	if _, ok := save("claude-sonnet-4-5", "anthropic", from.AddDate(0, 0, -1), 1_000_000); ok {
		t.Error("a day before the price's from date is priced")
	}
	if _, ok := save("mystery", "", from, 10); ok {
		t.Error("a model without a price saved something")
	}
	if cacheSaving(pricing.New("KRW", nil, nil)) != nil {
		t.Error("no USD rate: savings cannot be stated, want nil")
	}
}
