package artifact_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/sheet"
)

// Ensures the Budgets & alerts sheet, read back cell by cell, states a Scope for every budget
// ("all events" when unscoped), a Forecast for every budget whose period is still open (also
// one day into a month, before the alerts' forecast starts), and names the period of every
// alert row.
func TestWorkbookBudgetsScopeForecastAlertPeriod(t *testing.T) {
	rep := sampleReport()
	at := time.Date(2026, 10, 2, 9, 0, 0, 0, seoul) // 1 day 9 hours into October
	monthly := report.Budget{Name: "monthly-total", Period: report.Monthly, Amount: testkit.Dec("31000")}
	month := report.PeriodContaining(report.Monthly, at, seoul)
	rep.Budgets = []report.Status{
		report.Evaluate(report.Budget{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("1000")}, rep.Period, testkit.Dec("1234.5678901"), at),
		report.Evaluate(monthly, month, testkit.Dec("1650"), at),
	}
	if rep.Budgets[1].HasForecast {
		t.Fatal("the month's forecast should not have started yet; the test needs an early open period")
	}
	alerts := []report.LedgerEntry{{
		Breach:     report.Breach{Budget: "daily-total", PeriodStart: rep.Period.Start, Threshold: 95, Kind: report.Actual, Severity: report.Critical},
		PeriodKind: report.Daily, PeriodEnd: rep.Period.End, Status: report.StatusSent, CreatedAt: at,
	}}
	var buf bytes.Buffer
	if err := sheet.Write(&buf, artifact.Workbook(rep, alerts, at, nil), sheet.Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	get := func(ref string) string {
		t.Helper()
		v, err := f.GetCellValue(sheet.SheetBudgets, ref, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if h := get("B1") + "|" + get("H1"); h != "Scope|Forecast" {
		t.Fatalf("headers %q", h)
	}
	// daily-total: unscoped and over (its forecast is its spend); monthly-total: open, 33 h of
	// 744 h gone, so the run rate projects 1,650 × 744 / 33 = 37,200.
	for ref, want := range map[string]string{
		"A2": "daily-total", "B2": "all events", "H2": "1234.5678901",
		"A3": "monthly-total", "B3": "all events", "C3": "monthly 2026-10", "H3": "37200",
	} {
		if got := get(ref); got != want {
			t.Errorf("%s!%s = %q, want %q", sheet.SheetBudgets, ref, got, want)
		}
	}
	// The alerts block starts two rows below the budgets: header on row 5.
	for ref, want := range map[string]string{"C5": "Alert period", "B6": "daily-total", "C6": "daily 2026-10-01"} {
		if got := get(ref); got != want {
			t.Errorf("%s!%s = %q, want %q", sheet.SheetBudgets, ref, got, want)
		}
	}
}
