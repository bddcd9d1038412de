package pricing

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func table() *Table {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	from, _ := ParseDate("2025-09-29", seoul)
	later, _ := ParseDate("2026-01-01", seoul)
	return New("KRW", map[string]decimal.Decimal{"usd": dec("1300")}, []Price{
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: from, Input: dec("3.00"), CacheRead: dec("0.30"), CacheWrite: dec("3.75"), Output: dec("15.00")},
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: later, Input: dec("2.00"), CacheRead: dec("0.20"), CacheWrite: dec("2.50"), Output: dec("10.00")},
		{Model: "claude-sonnet-4-5", Provider: "bedrock", From: from, Input: dec("3.30"), CacheRead: dec("0.33"), CacheWrite: dec("4.125"), Output: dec("16.50")},
	})
}

// Ensures the contract's example: 500 input and 300 output tokens at USD 3 / 15 per million
// and 1,300 KRW/USD cost exactly ₩7.80 (₩1.95 + ₩5.85).
func TestContractExample(t *testing.T) {
	p, ok := table().Cost("claude-sonnet-4-5", "anthropic", time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), Usage{InputTokens: 500, OutputTokens: 300})
	if !ok {
		t.Fatal("not priced")
	}
	if !p.Cost.Equal(dec("7.80")) || p.Cost.String() != "7.8" {
		t.Fatalf("cost = %s, want exactly 7.80", p.Cost)
	}
	if p.Version != "anthropic/claude-sonnet-4-5@2025-09-29" || !p.Rate.Equal(dec("1300")) {
		t.Fatalf("version %q rate %s", p.Version, p.Rate)
	}
}

func TestCost(t *testing.T) {
	tb := table()
	oct := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		model, prov string
		at          time.Time
		u           Usage
		want        string
		priced      bool
	}{
		// 1000 input of which 600 cache read, 100 cache write: 300*3 + 600*0.30 + 100*3.75 + 0 = 1455 USD/M
		{"cache tokens priced apart", "claude-sonnet-4-5", "anthropic", oct, Usage{InputTokens: 1000, CacheReadTokens: 600, CacheWriteTokens: 100}, "1.8915", true},
		{"newest from not after the event", "claude-sonnet-4-5", "anthropic", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Usage{InputTokens: 500, OutputTokens: 300}, "5.2", true},
		{"before any price", "claude-sonnet-4-5", "anthropic", time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC), Usage{InputTokens: 1}, "", false},
		{"price date in the table's zone", "claude-sonnet-4-5", "anthropic", time.Date(2025, 12, 31, 15, 0, 0, 0, time.UTC), Usage{OutputTokens: 1_000_000}, "13000", true},
		{"provider specific row", "claude-sonnet-4-5", "bedrock", oct, Usage{OutputTokens: 1_000_000}, "21450", true},
		{"unknown model", "gpt-unknown", "openai", oct, Usage{InputTokens: 10}, "", false},
		{"unknown provider has no row", "claude-sonnet-4-5", "vertex", oct, Usage{InputTokens: 10}, "", false},
		{"no provider takes the first row", "claude-sonnet-4-5", "", oct, Usage{InputTokens: 1_000_000}, "3900", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tb.Cost(tc.model, tc.prov, tc.at, tc.u)
			if ok != tc.priced {
				t.Fatalf("priced = %v, want %v", ok, tc.priced)
			}
			if ok && !p.Cost.Equal(dec(tc.want)) {
				t.Fatalf("cost = %s, want %s", p.Cost, tc.want)
			}
		})
	}
}

func TestNoUSDRate(t *testing.T) {
	tb := New("EUR", nil, []Price{{Model: "m", Input: dec("1")}})
	if _, ok := tb.Cost("m", "", time.Now(), Usage{InputTokens: 1}); ok {
		t.Fatal("priced without a USD rate")
	}
	if r, ok := tb.Rate("eur"); !ok || !r.Equal(dec("1")) {
		t.Fatalf("rate of the reporting currency = %s %v", r, ok)
	}
}

// Ensures the integer fast path and the decimal path agree, including past the fast path's bounds.
func TestFastPathAgreesWithDecimal(t *testing.T) {
	tb := New("KRW", map[string]decimal.Decimal{"USD": dec("1387.25")}, []Price{
		{Model: "m", Input: dec("0.075"), CacheRead: dec("0.0375"), CacheWrite: dec("0.09375"), Output: dec("0.6")},
	})
	for _, u := range []Usage{
		{InputTokens: 1, OutputTokens: 1},
		{InputTokens: 123456, CacheReadTokens: 100000, CacheWriteTokens: 3456, OutputTokens: 7890},
		{InputTokens: 1 << 29, OutputTokens: 1 << 29},
		{InputTokens: 1 << 40, OutputTokens: 1 << 35}, // decimal path
	} {
		got, ok := tb.Cost("m", "", time.Now(), u)
		if !ok {
			t.Fatal("not priced")
		}
		rate := dec("1387.25")
		want := dec("0.075").Mul(decimal.NewFromInt(u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens)).
			Add(dec("0.0375").Mul(decimal.NewFromInt(u.CacheReadTokens))).
			Add(dec("0.09375").Mul(decimal.NewFromInt(u.CacheWriteTokens))).
			Add(dec("0.6").Mul(decimal.NewFromInt(u.OutputTokens))).Mul(rate).Div(dec("1000000"))
		if !got.Cost.Equal(want) {
			t.Fatalf("%+v: cost %s, want %s", u, got.Cost, want)
		}
	}
}
