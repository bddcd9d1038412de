package sheet_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/sheet"
)

var focusPeriod = sheet.FocusPeriod{
	// A Seoul day: it spans two UTC days, so its rows have clipped charge periods.
	Start: time.Date(2026, 10, 1, 15, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 2, 15, 0, 0, 0, time.UTC),
	Currency: "EUR", BillingAccountID: "inst-1",
}

// prices knows one version: USD 3 / 0.30 / 3.75 / 15 per million tokens.
func prices(version, model, provider string, day time.Time) (report.MeterPrices, bool) {
	if version != "anthropic/claude@2026-01-01" {
		return report.MeterPrices{}, false
	}
	return report.MeterPrices{Uncached: testkit.Dec("3"), CacheRead: testkit.Dec("0.30"), CacheWrite: testkit.Dec("3.75"), Output: testkit.Dec("15")}, true
}

func writeFocus(t *testing.T, groups ...report.FocusGroup) ([]string, []sheettest.FocusRow, *sheet.FocusCSV) {
	t.Helper()
	var b bytes.Buffer
	w, err := sheet.NewFocusCSV(&b, focusPeriod, prices)
	if err != nil {
		t.Fatal(err)
	}
	for i := range groups {
		if err := w.Write(&groups[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, rows := sheettest.ReadFocus(t, &b)
	return h, rows, w
}

// Ensures a group's cost is allocated per meter so that BilledCost adds up exactly: meters at list
// price (base rate × the events' exchange rate), the last meter row the rest (here a fee per
// request the base rates do not explain); without a known price version the whole cost is on the
// last row; unpriced usage is present at 0 and marked; a group without tokens keeps one row.
func TestFocusAllocatesCostPerMeterExactly(t *testing.T) {
	day1, day2 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	fx := decimal.NewNullDecimal(testkit.Dec("0.9"))
	groups := []report.FocusGroup{
		// 1M uncached, 200k cache reads, 500k output at 0.9 EUR per USD: 2.7 + 0.054 + 6.75, plus 0.0123 of fees.
		{Day: day1, Provider: "anthropic", Model: "claude", Service: "QA", OrgID: "org-1", Tags: `{"team": "a b"}`,
			PriceVersion: "anthropic/claude@2026-01-01", FXRate: fx, Uncached: 1_000_000, CacheRead: 200_000, Output: 500_000,
			Cost: testkit.Dec("9.5163")},
		// The provider's own cost: no version.
		{Day: day2, Provider: "openai", Model: "=HYPERLINK(\"x\")", Service: "QA", Uncached: 10, CacheWrite: 5, Output: 3, Cost: testkit.Dec("0.000000000001")},
		{Day: day2, Provider: "", Model: "mystery", Service: "QA", Unpriced: true, Uncached: 7, Output: 1},
		{Day: day2, Provider: "openai", Model: "gpt", Service: "QA", Cost: testkit.Dec("0.5"), PriceVersion: "gone@2020-01-01"},
	}
	header, rows, w := writeFocus(t, groups...)
	sheettest.CheckFocus(t, header, rows)
	type want struct{ meter, unit, list, billed, unpriced, start, end string }
	wants := []want{
		{"Uncached Input Tokens", "2.7", "2.7", "2.7", "false", "2026-10-01T15:00:00Z", "2026-10-02T00:00:00Z"},
		{"Cache Read Tokens", "0.27", "0.054", "0.054", "false", "2026-10-01T15:00:00Z", "2026-10-02T00:00:00Z"},
		{"Output Tokens", "13.5", "6.75", "6.7623", "false", "2026-10-01T15:00:00Z", "2026-10-02T00:00:00Z"},
		{"Uncached Input Tokens", "", "0", "0", "false", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
		{"Cache Write Tokens", "", "0", "0", "false", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
		{"Output Tokens", "", "0.000000000001", "0.000000000001", "false", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
		{"Uncached Input Tokens", "", "0", "0", "true", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
		{"Output Tokens", "", "0", "0", "true", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
		{"Output Tokens", "", "0.5", "0.5", "false", "2026-10-02T00:00:00Z", "2026-10-02T15:00:00Z"},
	}
	if len(rows) != len(wants) || w.Rows() != int64(len(wants)) {
		t.Fatalf("%d rows (%d counted), want %d: %v", len(rows), w.Rows(), len(wants), rows)
	}
	sum := decimal.Zero
	for i, wt := range wants {
		r := rows[i]
		got := want{r["SkuMeter"], r["ListUnitPrice"], r["ListCost"], r["BilledCost"], r["x_Unpriced"], r["ChargePeriodStart"], r["ChargePeriodEnd"]}
		if got != wt {
			t.Errorf("row %d: got %+v, want %+v", i, got, wt)
		}
		sum = sum.Add(testkit.Dec(r["BilledCost"]))
	}
	if total := testkit.Dec("10.016300000001"); !sum.Equal(total) || !w.Billed().Equal(total) {
		t.Errorf("BilledCost adds up to %s (writer: %s), want %s", sum, w.Billed(), total)
	}
	first := rows[0]
	for col, v := range map[string]string{"SubAccountId": "org-1", "Tags": `{"team": "a b"}`, "PricingQuantity": "1",
		"ConsumedQuantity": "1000000", "SkuPriceId": "anthropic/claude@2026-01-01/input", "x_ExchangeRate": "0.9",
		"BillingPeriodStart": "2026-10-01T15:00:00Z", "BillingCurrency": "EUR", "BillingAccountId": "inst-1"} {
		if first[col] != v {
			t.Errorf("%s = %q, want %q", col, first[col], v)
		}
	}
	// Untrusted text is made inert as in the events CSV; a missing provider is named.
	if rows[3]["ServiceName"] != `'=HYPERLINK("x")` || rows[6]["ProviderName"] != "Unknown" || rows[3]["SubAccountId"] != "" {
		t.Errorf("ServiceName %q, ProviderName %q, SubAccountId %q", rows[3]["ServiceName"], rows[6]["ProviderName"], rows[3]["SubAccountId"])
	}
}
