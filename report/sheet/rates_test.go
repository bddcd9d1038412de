package sheet

import (
	"fmt"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
)

// Ensures the Summary sheet states each exchange rate as a number cell, exactly as configured,
// and the date it was set as a date cell.
func TestRatesOnSummary(t *testing.T) {
	wb := fixture()
	wb.Rates = []Rate{{Currency: "usd", Value: testkit.Dec("1300"), Since: "2025-10-01"}, {Currency: "EUR", Value: testkit.Dec("1437.125")}}
	f := open(t, render(t, wb, Options{}))
	for label, want := range map[string]float64{
		"Exchange rate: " + wb.Currency + " per 1 USD": 1300,
		"Exchange rate: " + wb.Currency + " per 1 EUR": 1437.125,
	} {
		ref := fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, label))
		if got := number(t, f, SheetSummary, ref); got != want {
			t.Errorf("%s = %v, want the number %v", label, got, want)
		}
	}
	ref := fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, "Exchange rate USD set on"))
	if got := dateIn(t, f, SheetSummary, ref); !got.Equal(time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("USD rate set on %v, want the date 2025-10-01", got)
	}
	if got := numFmt(t, f, SheetSummary, ref); got != "yyyy-mm-dd" {
		t.Errorf("USD rate date format %q", got)
	}
}
