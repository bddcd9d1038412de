package pricing

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
)

func table() *Table {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	from, _ := ParseDate("2025-09-29", seoul)
	later, _ := ParseDate("2026-01-01", seoul)
	return New("KRW", map[string]decimal.Decimal{"usd": testkit.Dec("1300")}, []Price{
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: from, Input: testkit.Dec("3.00"), CacheRead: testkit.Dec("0.30"), CacheWrite: testkit.Dec("3.75"), Output: testkit.Dec("15.00")},
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: later, Input: testkit.Dec("2.00"), CacheRead: testkit.Dec("0.20"), CacheWrite: testkit.Dec("2.50"), Output: testkit.Dec("10.00")},
		{Model: "claude-sonnet-4-5", Provider: "bedrock", From: from, Input: testkit.Dec("3.30"), CacheRead: testkit.Dec("0.33"), CacheWrite: testkit.Dec("4.125"), Output: testkit.Dec("16.50")},
	})
}

// Ensures the contract's example: 500 input and 300 output tokens at USD 3 / 15 per million
// and 1,300 KRW/USD cost exactly ₩7.80 (₩1.95 + ₩5.85).
func TestContractExample(t *testing.T) {
	p, ok := table().Cost("claude-sonnet-4-5", "anthropic", time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), Usage{InputTokens: 500, OutputTokens: 300})
	if !ok {
		t.Fatal("not priced")
	}
	if !p.Cost.Equal(testkit.Dec("7.80")) || p.Cost.String() != "7.8" {
		t.Fatalf("cost = %s, want exactly 7.80", p.Cost)
	}
	if p.Version != "anthropic/claude-sonnet-4-5@2025-09-29" || !p.Rate.Equal(testkit.Dec("1300")) {
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
			if ok && !p.Cost.Equal(testkit.Dec(tc.want)) {
				t.Fatalf("cost = %s, want %s", p.Cost, tc.want)
			}
		})
	}
}

func TestNoUSDRate(t *testing.T) {
	tb := New("EUR", nil, []Price{{Model: "m", Input: testkit.Dec("1")}})
	if _, ok := tb.Cost("m", "", time.Now(), Usage{InputTokens: 1}); ok {
		t.Fatal("priced without a USD rate")
	}
	if r, ok := tb.Rate("eur"); !ok || !r.Equal(testkit.Dec("1")) {
		t.Fatalf("rate of the reporting currency = %s %v", r, ok)
	}
}

// Ensures the integer fast path and the decimal path agree, including past the fast path's bounds.
func TestFastPathAgreesWithDecimal(t *testing.T) {
	tb := New("KRW", map[string]decimal.Decimal{"USD": testkit.Dec("1387.25")}, []Price{
		{Model: "m", Input: testkit.Dec("0.075"), CacheRead: testkit.Dec("0.0375"), CacheWrite: testkit.Dec("0.09375"), Output: testkit.Dec("0.6")},
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
		rate := testkit.Dec("1387.25")
		want := testkit.Dec("0.075").Mul(decimal.NewFromInt(u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens)).
			Add(testkit.Dec("0.0375").Mul(decimal.NewFromInt(u.CacheReadTokens))).
			Add(testkit.Dec("0.09375").Mul(decimal.NewFromInt(u.CacheWriteTokens))).
			Add(testkit.Dec("0.6").Mul(decimal.NewFromInt(u.OutputTokens))).Mul(rate).Div(testkit.Dec("1000000"))
		if !got.Cost.Equal(want) {
			t.Fatalf("%+v: cost %s, want %s", u, got.Cost, want)
		}
	}
}

// Ensures a tier reprices every token kind of a request whose input exceeds its threshold, and
// only those; 1-hour cache writes cost their own price, or the cache-write price without one.
func TestTiersAndOneHourWrites(t *testing.T) {
	tiered := Price{Model: "claude-sonnet-4", Input: testkit.Dec("3"), CacheRead: testkit.Dec("0.30"), CacheWrite: testkit.Dec("3.75"), Output: testkit.Dec("15"),
		CacheWrite1h: decimal.NewNullDecimal(testkit.Dec("6")),
		Tiers: []Tier{{AboveInputTokens: 200_000, Input: testkit.Dec("6"), CacheRead: testkit.Dec("0.60"), CacheWrite: testkit.Dec("7.50"), Output: testkit.Dec("22.50"),
			CacheWrite1h: decimal.NewNullDecimal(testkit.Dec("12"))}}}
	plain := Price{Model: "plain", Input: testkit.Dec("1"), CacheRead: testkit.Dec("0.1"), CacheWrite: testkit.Dec("2"), Output: testkit.Dec("4")}
	tb := New("USD", nil, []Price{tiered, plain})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, model string
		u           Usage
		want        string
	}{
		// 200,000 is not above the threshold: base prices. 190,000·3 + 4,000·0.30 + 5,000·3.75 + 1,000·6 + 1,000·15
		{"at the threshold", "claude-sonnet-4", Usage{InputTokens: 200_000, CacheReadTokens: 4000, CacheWriteTokens: 6000, CacheWrite1hTokens: 1000, OutputTokens: 1000}, "0.61095"},
		// one more input token: every kind at the tier's price. 190,001·6 + 4,000·0.60 + 5,000·7.50 + 1,000·12 + 1,000·22.50
		{"above the threshold", "claude-sonnet-4", Usage{InputTokens: 200_001, CacheReadTokens: 4000, CacheWriteTokens: 6000, CacheWrite1hTokens: 1000, OutputTokens: 1000}, "1.214406"},
		// no 1-hour price: 1,000 5-minute and 1,000 1-hour writes at 2
		{"1-hour writes at the cache-write price", "plain", Usage{InputTokens: 2000, CacheWriteTokens: 2000, CacheWrite1hTokens: 1000}, "0.004"},
		{"reasoning is output", "plain", Usage{OutputTokens: 1000, ReasoningTokens: 600}, "0.004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tb.Cost(tc.model, "", at, tc.u)
			if !ok || !p.Cost.Equal(testkit.Dec(tc.want)) {
				t.Fatalf("cost %s (%v), want %s", p.Cost, ok, tc.want)
			}
		})
	}
}

const testCatalog = `[
 {"id": "acme", "provider_match": {"contains": "acme"}, "model_match": {"starts_with": "acme-"},
  "fallback_model_providers": ["other"],
  "models": [
   {"id": "acme-exact", "match": {"equals": "acme-Exact"}, "prices": {"input_mtok": 1, "output_mtok": 2}},
   {"id": "acme-both", "match": {"and": [{"starts_with": "acme-"}, {"ends_with": "-pro"}, {"contains": "big"}]},
    "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3, "cache_read_mtok": {"base": 0.5, "tiers": [{"start": 500, "price": 0.25}]}}},
   {"id": "acme-re", "match": {"regex": "^acme-(?!old)v\\d+$"}, "prices": {"input_mtok": 10, "output_mtok": 10}},
   {"id": "acme-dated", "match": {"or": [{"equals": "acme-dated"}, {"equals": "acme-dated-2025-03-01"}]}, "prices": [
     {"prices": {"input_mtok": 1, "output_mtok": 1}},
     {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 2, "output_mtok": 2}},
     {"constraint": {"start_time": "22:00:00+09:00", "end_time": "06:00:00Z"}, "prices": {"input_mtok": 0.5, "output_mtok": 0.5}}]},
   {"id": "acme-audio", "match": {"equals": "acme-audio"}, "prices": {"audio_hours": 1}}
  ]},
 {"id": "other", "models": [{"id": "shared", "match": {"equals": "shared"}, "prices": {"input_mtok": 7, "output_mtok": 7}}]}
]`

// Ensures the catalog's match rules, tiers, fallback providers, dated and time-of-day prices
// work as genai-prices defines them, and that rows of the table win over the catalog.
func TestCatalogLookup(t *testing.T) {
	cat, err := ParseCatalog(strings.NewReader(testCatalog), time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rows := []Price{{Model: "acme-exact", Provider: "elsewhere", Input: testkit.Dec("100"), Output: testkit.Dec("100")}}
	tb := New("USD", nil, rows, WithCatalog(cat))
	day := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, model, provider string
		at                    time.Time
		u                     Usage
		want, version         string // want "" = unpriced
	}{
		{"equals ignores case", "ACME-exact", "acme", day, Usage{InputTokens: 1e6}, "1", "genai-prices:acme/acme-exact@2026-11-30"},
		{"provider by provider_match", "acme-exact", "acme-cloud", day, Usage{InputTokens: 1e6}, "1", "genai-prices:acme/acme-exact@2026-11-30"},
		{"no provider: the rows of the model win", "acme-exact", "", day, Usage{InputTokens: 1e6}, "100", "elsewhere/acme-exact@0001-01-01"},
		{"provider by model_match", "acme-v7", "", day, Usage{InputTokens: 1e6}, "10", "genai-prices:acme/acme-re@2026-11-30"},
		{"rows win for their provider", "acme-exact", "elsewhere", day, Usage{InputTokens: 1e6}, "100", "elsewhere/acme-exact@0001-01-01"},
		{"unknown provider", "acme-exact", "nobody", day, Usage{InputTokens: 1}, "", ""},
		{"and of rules", "acme-big-pro", "acme", day, Usage{InputTokens: 800, CacheReadTokens: 600, OutputTokens: 1e6}, "3.00035", "genai-prices:acme/acme-both@2026-11-30"},
		{"tiers per price", "acme-big-pro", "acme", day, Usage{InputTokens: 1001, CacheReadTokens: 1}, "0.00200025", ""},
		{"regex with a lookahead", "acme-v2", "acme", day, Usage{InputTokens: 1e6}, "10", "genai-prices:acme/acme-re@2026-11-30"},
		{"regex refuses", "acme-oldv2", "acme", day, Usage{InputTokens: 1}, "", ""},
		{"fallback provider", "shared", "acme", day, Usage{InputTokens: 1e6}, "7", "genai-prices:other/shared@2026-11-30"},
		{"before the start date", "acme-dated", "acme", day, Usage{InputTokens: 1e6}, "1", "genai-prices:acme/acme-dated@2026-11-30"},
		{"from the start date", "acme-dated", "acme", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), Usage{InputTokens: 1e6}, "2", "genai-prices:acme/acme-dated@2026-01-01"},
		{"time of day across midnight", "acme-dated", "acme", time.Date(2026, 2, 1, 5, 59, 0, 0, time.UTC), Usage{InputTokens: 1e6}, "0.5", "genai-prices:acme/acme-dated@2026-11-30+13:00:00-06:00:00UTC"},
		{"date in the name", "acme-dated-20250301", "acme", day, Usage{InputTokens: 1e6}, "1", ""},
		{"priced in units events lack", "acme-audio", "acme", day, Usage{InputTokens: 1e6}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tb.Cost(tc.model, tc.provider, tc.at, tc.u)
			if ok != (tc.want != "") {
				t.Fatalf("priced %v (%s), want %q", ok, p.Version, tc.want)
			}
			if ok && !p.Cost.Equal(testkit.Dec(tc.want)) {
				t.Fatalf("cost %s, want %s", p.Cost, tc.want)
			}
			if tc.version != "" && p.Version != tc.version {
				t.Fatalf("version %q, want %q", p.Version, tc.version)
			}
		})
	}
}

func TestCatalogErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"not a list", `{"id": "x"}`, "list of providers"},
		{"unknown rule", `[{"id": "p", "models": [{"id": "m", "match": {"like": "m"}, "prices": {}}]}]`, `unknown match rule "like"`},
		{"bad regex", `[{"id": "p", "models": [{"id": "m", "match": {"regex": "("}, "prices": {}}]}]`, "regex"},
		{"negative price", `[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": -1}}]}]`, "must be ≥ 0"},
		{"bad constraint", `[{"id": "p", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"start_date": "2026-13-01"}, "prices": {}}]}]}]`, "start_date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalog(strings.NewReader(tc.json), time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
