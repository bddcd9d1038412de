package xlsx

import (
	"fmt"
	"testing"
)

// Ensures the Summary sheet states the exchange rates exactly, as configured.
func TestRatesOnSummary(t *testing.T) {
	wb := fixture()
	wb.Rates = []Rate{{Currency: "usd", Value: dec("1300"), Since: "2025-10-01"}, {Currency: "EUR", Value: dec("1437.125")}}
	f := open(t, render(t, wb, Options{}))
	for label, want := range map[string]string{
		"Exchange rate USD (set 2025-10-01)": "1 USD = 1300 " + wb.Currency,
		"Exchange rate EUR":                  "1 EUR = 1437.125 " + wb.Currency,
	} {
		if got := str(t, f, SheetSummary, fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, label))); got != want {
			t.Errorf("%s = %q, want %q", label, got, want)
		}
	}
}
