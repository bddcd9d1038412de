package main

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report"
)

// Ensures the FOCUS export's list prices are the base rates of the very price version that
// priced the events (the base rates, not a tier's), also one that took effect during the UTC day
// (the table's dates are local midnights); a version the table no longer has gives
// none.
func TestFocusUnitPricesOfVersion(t *testing.T) {
	d := decimal.RequireFromString
	seoul := time.FixedZone("KST", 9*3600)
	tbl := pricing.New("USD", map[string]decimal.Decimal{"USD": d("1")}, []pricing.Price{
		{Model: "m", Provider: "p", From: time.Date(2026, 1, 1, 0, 0, 0, 0, seoul), Input: d("2"), CacheRead: d("0.2"), CacheWrite: d("2.5"), Output: d("8"),
			Tiers: []pricing.Tier{{AboveInputTokens: 1000, Input: d("4"), Output: d("16")}}},
		// In force from 15:00 UTC on 2026-03-01.
		{Model: "m", Provider: "p", From: time.Date(2026, 3, 2, 0, 0, 0, 0, seoul), Input: d("1"), CacheRead: d("0.1"), CacheWrite: d("1.25"), Output: d("4")},
	})
	prices := unitPrices(tbl)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		version string
		want    report.MeterPrices
		ok      bool
	}{
		// The base rates, not the tier's.
		{"p/m@2026-01-01", report.MeterPrices{Uncached: d("2"), CacheRead: d("0.2"), CacheWrite: d("2.5"), Output: d("8")}, true},
		{"p/m@2026-03-02", report.MeterPrices{Uncached: d("1"), CacheRead: d("0.1"), CacheWrite: d("1.25"), Output: d("4")}, true},
		{"p/m@2025-06-01", report.MeterPrices{}, false},
	} {
		got, ok := prices(tc.version, "m", "p", day)
		if ok != tc.ok || !got.Uncached.Equal(tc.want.Uncached) || !got.CacheRead.Equal(tc.want.CacheRead) ||
			!got.CacheWrite.Equal(tc.want.CacheWrite) || !got.Output.Equal(tc.want.Output) {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.version, got, ok, tc.want, tc.ok)
		}
	}
}
