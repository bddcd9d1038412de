package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
)

// Ensures the configuration's tiers, 1-hour cache-write price and price catalog reach the price
// table: a row wins over the catalog for its model, other models come from the catalog.
func TestConfigPricesTiersAndCatalog(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "genai-prices.json")
	if err := os.WriteFile(catalog, []byte(`[{"id": "acme", "models": [
		{"id": "acme-1", "match": {"starts_with": "acme-1"}, "prices": {"input_mtok": 1, "output_mtok": 2}},
		{"id": "claude-sonnet-4-5", "match": {"equals": "claude-sonnet-4-5"}, "prices": {"input_mtok": 99, "output_mtok": 99}}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "aispend.yaml")
	if err := os.WriteFile(path, []byte(`currency: KRW
fx: {USD: 1300}
price_catalog: `+catalog+`
prices:
  - model: claude-sonnet-4-5
    from: 2025-09-29
    input: 3
    cache_read: 0.3
    cache_write: 3.75
    cache_write_1h: 6
    output: 15
    tiers:
      - {above_input_tokens: 200000, input: 6, output: 22.5, cache_read: 0.6, cache_write: 7.5}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	table, err := cfg.priceTable()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, model, provider string
		u                     pricing.Usage
		want                  string
	}{
		{"the contract's example", "claude-sonnet-4-5", "anthropic", pricing.Usage{InputTokens: 500, OutputTokens: 300}, "7.8"},
		// 1,000 1-hour writes at 6 and 1,000 5-minute writes at 3.75 USD/M: 0.00975 USD
		{"1-hour writes", "claude-sonnet-4-5", "anthropic", pricing.Usage{InputTokens: 2000, CacheWriteTokens: 2000, CacheWrite1hTokens: 1000}, "12.675"},
		// above 200,000: 200,000·6 + 1,000 1-hour writes at the tier's cache_write 7.50 (no 1-hour tier price)
		{"a tier", "claude-sonnet-4-5", "anthropic", pricing.Usage{InputTokens: 201_000, CacheWriteTokens: 1000, CacheWrite1hTokens: 1000}, "1569.75"},
		{"from the catalog", "acme-1-mini", "acme", pricing.Usage{InputTokens: 1_000_000}, "1300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := table.Cost(tc.model, tc.provider, at, tc.u)
			if !ok || !p.Cost.Equal(decimal.RequireFromString(tc.want)) {
				t.Fatalf("cost %s (%v), want %s", p.Cost, ok, tc.want)
			}
		})
	}
}

// Ensures bad tiers and an unreadable catalog are refused at start-up, every problem named.
func TestConfigPricesRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(path, []byte(`fx: {USD: 1}
prices:
  - model: m
    from: 2025-09-29
    input: 3
    output: 15
    cache_write_1h: -1
    tiers:
      - {above_input_tokens: 0, input: 1, output: 1}
      - {above_input_tokens: 100, output: 1}
      - {above_input_tokens: 100, input: 1, output: -1}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path, func(k string) string {
		if k == "AISPEND_PRICE_CATALOG" {
			return "/nonexistent/genai-prices.json"
		}
		return ""
	})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a ConfigError", err)
	}
	for _, want := range []string{"prices[0].cache_write_1h: must be ≥ 0", "prices[0].tiers[0].above_input_tokens: required, > 0",
		"prices[0].tiers[1].input: required", "prices[0].tiers[2].above_input_tokens: 100: another tier has the same threshold",
		"prices[0].tiers[2].output: must be ≥ 0", "price_catalog (AISPEND_PRICE_CATALOG): open price catalog"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant a problem %q", err, want)
		}
	}
}
