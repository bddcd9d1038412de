package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/sheet"
)

// tieredCatalog prices gemini-2.5-pro as genai-prices does: its input and cache-read prices
// double above 200,000 input tokens.
const tieredCatalog = `[{"id": "google", "models": [{"id": "gemini-2.5-pro", "match": {"equals": "gemini-2.5-pro"},
  "prices": {"input_mtok": {"base": 1.25, "tiers": [{"start": 200000, "price": 2.5}]},
             "cache_read_mtok": {"base": 0.31, "tiers": [{"start": 200000, "price": 0.625}]},
             "output_mtok": {"base": 10, "tiers": [{"start": 200000, "price": 15}]}}}]}]`

// Ensures a cache-read token saves the uncached input price less the cache-read price, converted
// at the configured rate and effective-dated like pricing: 1,000,000 tokens of claude-sonnet-4-5
// at USD 3 / M input and 0.30 / M cache read, at 1,300 KRW/USD, saved ₩3,510; a model without a
// price saves nothing that can be stated. Both prices are those of the level that priced the
// request: a long-context tier of a row or of the catalog above its threshold (not at it), so
// that the saving is exactly what the collector charges the request uncached less what it
// charged it.
func TestCacheSaving(t *testing.T) {
	d := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	from := time.Date(2025, 9, 29, 0, 0, 0, 0, seoulZone)
	cat, err := pricing.ParseCatalog(strings.NewReader(tieredCatalog), from)
	if err != nil {
		t.Fatal(err)
	}
	tbl := pricing.New("KRW", map[string]decimal.Decimal{"USD": d("1300")}, []pricing.Price{
		{Model: "claude-sonnet-4-5", Provider: "anthropic", From: from, Input: d("3"), CacheRead: d("0.30"), CacheWrite: d("3.75"), Output: d("15"),
			Tiers: []pricing.Tier{{AboveInputTokens: 200_000, Input: d("6"), CacheRead: d("0.60"), CacheWrite: d("7.50"), Output: d("22.50")}}},
		{Model: "claude-haiku-4-5", From: from, Input: d("1"), CacheRead: d("0.10"), Output: d("5"),
			Tiers: []pricing.Tier{{AboveInputTokens: 100_000, Input: d("2"), CacheRead: d("0.20"), Output: d("10")}}},
	}, pricing.WithCatalog(cat))
	cs := cacheSaving(tbl)
	if got := cs.Tiers; !slices.Equal(got, []int64{100_000, 200_000}) {
		t.Errorf("tier thresholds %v; want 100000 and 200000 (rows and catalog, once each)", got)
	}
	day := from.AddDate(0, 1, 0)
	if got, ok := cs.Saved("claude-sonnet-4-5", "anthropic", day, 0, 1_000_000); !ok || !got.Equal(d("3510")) {
		t.Errorf("saving %s, %v; want 3510", got, ok)
	}
	for _, tc := range []struct {
		model, provider string
		input, read     int64
		want            string
	}{
		{"claude-sonnet-4-5", "anthropic", 200_000, 100_000, "351"}, // at the threshold: base, 2.70 / M
		{"claude-sonnet-4-5", "anthropic", 200_001, 100_000, "702"}, // above: the tier, 5.40 / M
		{"gemini-2.5-pro", "google", 250_000, 200_000, "487.5"},     // the catalog's tier, 1.875 / M
		{"gemini-2.5-pro", "google", 150_000, 100_000, "122.2"},     // its base, 0.94 / M
		{"claude-haiku-4-5", "", 150_000, 100_000, "234"},           // a row without provider, its tier: 1.80 / M
	} {
		got, ok := cs.Saved(tc.model, tc.provider, day, tc.input, tc.read)
		if !ok || !got.Equal(d(tc.want)) {
			t.Errorf("%s, %d input: saving %s, %v; want %s", tc.model, tc.input, got, ok, tc.want)
		}
		// What the collector charges the request with its cache reads uncached, less what it charges.
		u := pricing.Usage{InputTokens: tc.input, CacheReadTokens: tc.read, OutputTokens: 10}
		cached, ok1 := tbl.Cost(tc.model, tc.provider, day, u)
		u.CacheReadTokens = 0
		uncached, ok2 := tbl.Cost(tc.model, tc.provider, day, u)
		if !ok1 || !ok2 || !uncached.Cost.Sub(cached.Cost).Equal(got) {
			t.Errorf("%s, %d input: saving %s; the collector's prices differ by %s", tc.model, tc.input, got, uncached.Cost.Sub(cached.Cost))
		}
	}
	if _, ok := cs.Saved("claude-sonnet-4-5", "anthropic", from.AddDate(0, 0, -1), 0, 1_000_000); ok {
		t.Error("a day before the price's from date is priced")
	}
	if _, ok := cs.Saved("mystery", "", from, 0, 10); ok {
		t.Error("a model without a price saved something")
	}
	if cacheSaving(pricing.New("KRW", nil, nil)) != nil {
		t.Error("no USD rate: savings cannot be stated, want nil")
	}
}

// Ensures `aispend run` prices the prompt-cache savings of requests past a long-context
// threshold at the tier that priced them, from a price row and from the catalog, read back from
// the workbook's Summary: ₩175.50 + ₩702 (claude-sonnet-4-5 at 100,000 and 300,000 input
// tokens) + ₩487.50 + ₩122.20 (gemini-2.5-pro at 250,000 and exactly 200,000) = ₩1,487.20,
// where base prices alone give ₩893.10.
func TestRunCacheSavingsAtTier(t *testing.T) {
	env, url := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST") // emails go to the outbox
	dir := filepath.Dir(env["AISPEND_CONFIG"])
	catalog := filepath.Join(dir, "genai-prices.json")
	if err := os.WriteFile(catalog, []byte(tieredCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	config := batchConfig + `fx: {USD: 1300}
price_catalog: ` + catalog + `
prices:
  - model: claude-sonnet-4-5
    provider: anthropic
    from: 2025-09-29
    input: 3
    cache_read: 0.30
    output: 15
    tiers:
      - {above_input_tokens: 200000, input: 6, output: 22.5, cache_read: 0.6}
`
	if err := os.WriteFile(env["AISPEND_CONFIG"], []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool := pgtest.Connect(t, url)
	s := pgstore.New(pool, pgstore.Options{})
	at := time.Date(2026, 10, 1, 10, 0, 0, 0, seoulZone)
	var rows []collect.Row
	for i, e := range []struct {
		model, provider string
		input, read     int64
	}{
		{"claude-sonnet-4-5", "anthropic", 100_000, 50_000}, {"claude-sonnet-4-5", "anthropic", 300_000, 100_000},
		{"gemini-2.5-pro", "google", 250_000, 200_000}, {"gemini-2.5-pro", "google", 200_000, 100_000},
	} {
		rows = append(rows, collect.Row{EventID: fmt.Sprintf("tier-%d", i), OccurredAt: at.Add(time.Duration(i) * time.Minute),
			Service: "QA_CHAT", Model: e.model, Provider: e.provider, InputTokens: e.input, CacheReadTokens: e.read, OutputTokens: 100,
			CostSource: "provider", Cost: decimal.NewNullDecimal(decimal.NewFromInt(1)), Success: true, DurationMS: math.MinInt64})
	}
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var stdout, logs bytes.Buffer
	if err := run(ctx, []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	f, err := excelize.OpenFile(filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01/aispend-daily-2026-10-01.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := f.GetRows(sheet.SheetSummary, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range sum {
		if len(r) > 1 && r[0] == "Prompt-cache savings" {
			got = r[1]
		}
	}
	if v, err := decimal.NewFromString(got); err != nil || !v.Equal(decimal.RequireFromString("1487.2")) {
		t.Errorf("Summary: Prompt-cache savings %q; want 1487.2 (each request at its price level)", got)
	}
}
