package site

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// Ensures the exchange rates used for conversion are stated exactly on period and index pages.
func TestRatesStated(t *testing.T) {
	rates := []Rate{{Currency: "USD", Value: decimal.RequireFromString("1300"), Since: "2025-10-01"},
		{Currency: "eur", Value: decimal.RequireFromString("1437.125")}}
	p := samplePeriod(t)
	p.Currency, p.Rates = "KRW", rates
	var b strings.Builder
	if err := writePeriod(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "Exchange rates: 1 USD = 1,300 KRW (set 2025-10-01); 1 EUR = 1,437.125 KRW."
	if !strings.Contains(b.String(), want) {
		t.Fatalf("period page does not state %q", want)
	}
	ix := sampleIndex(t)
	ix.Currency, ix.Rates = "KRW", rates
	b.Reset()
	if err := RenderIndex(&b, ix); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), want) {
		t.Fatalf("index does not state %q", want)
	}
}
