package artifact_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/sheet"
)

// Ensures the figures every output shares are computed once and agree: the daily report of 1
// December, run on the 3rd, read back from the page (Chromium), the workbook's cells, report.json
// and the digest's text and HTML parts as Mailpit received them.
//   - The monthly budget's forecast is taken as of the report's instant (2 Dec 00:00: one day's
//     ₩1.7775 × 31 = ₩55.1025), not as of the run (× 744 h ÷ 57 h = ₩23.20), everywhere.
//   - The average cost is over the priced requests (₩1.7775 ÷ 2 = ₩0.88875), not all 5.
//   - The change of the cost from 30 November (₩3) is −40.75 %, shown truncated as −40.7 % on the
//     page and in the digest (the digest used to round it to −40.8 %).
func TestEveryOutputStatesTheSameFigures(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 3, 9, 0, 0, 0, seoul))
	dec1 := report.PeriodContaining(report.Daily, time.Date(2026, 12, 1, 0, 0, 0, 0, seoul), seoul)
	var rows []collect.Row
	for i, cost := range []string{"1", "0.7775", "", "", ""} {
		r := collect.Row{EventID: "dec1-" + string(rune('a'+i)), OccurredAt: dec1.Start.Add(time.Duration(i+1) * time.Hour),
			Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic", InputTokens: 100, OutputTokens: 10,
			CostSource: "provider", Success: true}
		if cost == "" {
			r.Model, r.CostSource = "mystery-model", "none"
		} else {
			r.Cost = decimal.NewNullDecimal(testkit.Dec(cost))
		}
		rows = append(rows, r)
	}
	s := pgstore.New(f.env.pool, pgstore.Options{})
	defer s.Close()
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	page, book, msg := f.run(t, dec1)
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}

	// What the report computed, once.
	wantAvg := testkit.Dec("0.88875")
	wantForecast := testkit.Dec("55.1025")
	change, _ := report.Change(testkit.Dec("1.7775"), testkit.Dec("3"))
	wantChange := format.SignedPercent(change)
	if wantChange != "−40.7 %" {
		t.Fatalf("report.Change = %s (%s); the test needs −40.75 %%", change, wantChange)
	}
	avgText, forecastText := format.FormatFine(wantAvg, "KRW"), format.Format(wantForecast, "KRW") // ₩0.89, ₩55

	// report.json: the average; the monthly forecast is an early estimate, which report.json
	// leaves out as GET /v1/budgets does (null until the alerts' forecast starts; see below).
	doc := reportJSON(t, page)
	if got := doc.Stats.Totals.AvgCostPerRequest; !testkit.Dec(got).Equal(wantAvg) {
		t.Errorf("report.json avg_cost_per_request = %s, want %s", got, wantAvg)
	}
	if fc := budgetForecast(doc, "monthly-total"); fc != nil {
		t.Errorf("report.json states the early estimate %+v; want null, as GET /v1/budgets", fc)
	}

	// The workbook: the cells' stored values and their text as Excel shows it.
	if got := workbookCell(t, book, sheet.SheetSummary, "Average cost per priced request", 1, true); !testkit.Dec(got).Equal(wantAvg) {
		t.Errorf("workbook average = %s, want %s", got, wantAvg)
	}
	if got := workbookCell(t, book, sheet.SheetSummary, "Average cost per priced request", 1, false); got != avgText {
		t.Errorf("workbook average shows %q, want %q", got, avgText)
	}
	if got := workbookCell(t, book, sheet.SheetBudgets, "monthly-total", 7, true); !testkit.Dec(got).Equal(wantForecast) {
		t.Errorf("workbook monthly-total forecast = %s, want %s", got, wantForecast)
	}
	if got := workbookCell(t, book, sheet.SheetBudgets, "monthly-total", 7, false); got != forecastText {
		t.Errorf("workbook monthly-total forecast shows %q, want %q", got, forecastText)
	}

	// The page, as Chromium shows it.
	ctx, p := openPage(t, page)
	kpi := func(label string) string {
		return evalString(t, ctx, p, `Array.from(document.querySelectorAll('.kpi')).find(e => e.querySelector('.kpi-label').textContent === `+
			`'`+label+`').innerText`)
	}
	if got := kpi("Avg cost / request"); !strings.Contains(got, avgText) {
		t.Errorf("page average KPI %q, want %s", got, avgText)
	}
	pct := regexp.MustCompile(`[−+-]\d+\.\d %`)
	costChange := regexp.MustCompile(`([−+-]\d+\.\d %) vs `)
	if got := pct.FindString(kpi("Total cost")); got != wantChange {
		t.Errorf("page cost change %q, want %s", got, wantChange)
	}
	card := evalString(t, ctx, p, `Array.from(document.querySelectorAll('.budget')).find(e => e.textContent.includes('monthly-total')).innerText`)
	if want := "Forecast " + forecastText + " at period end (early estimate)"; !strings.Contains(card, want) {
		t.Errorf("page monthly-total card %q lacks %q", card, want)
	}

	// The digest, both parts.
	for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
		if want := "forecast " + forecastText + " at period end (early estimate)"; !strings.Contains(body, want) {
			t.Errorf("digest %s part lacks %q:\n%s", part, want, body)
		}
		if !strings.Contains(body, avgText) || !strings.Contains(body, "per priced request") {
			t.Errorf("digest %s part lacks the average %s:\n%s", part, avgText, body)
		}
		if m := costChange.FindStringSubmatch(body); m == nil || m[1] != wantChange {
			t.Errorf("digest %s part: cost change %q, want %s", part, m, wantChange)
		}
	}
}

// Ensures the alerts' forecast (no estimate) is one amount in report.json, the workbook, the
// page and the digest: the daily report of 28 November states the monthly budget as of 29
// November 00:00, 28 of 30 days at ₩3 a day, so ₩84 × 30 ÷ 28 = ₩90.
func TestEveryOutputStatesTheSameForecast(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 3, 9, 0, 0, 0, seoul))
	page, book, msg := f.run(t, day28Nov())
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}
	want := testkit.Dec("90")
	fc := budgetForecast(reportJSON(t, page), "monthly-total")
	if fc == nil || !testkit.Dec(fc.Projected).Equal(want) || fc.Exceeds {
		t.Errorf("report.json monthly-total forecast = %+v, want %s", fc, want)
	}
	if got := workbookCell(t, book, sheet.SheetBudgets, "monthly-total", 7, true); !testkit.Dec(got).Equal(want) {
		t.Errorf("workbook monthly-total forecast = %s, want %s", got, want)
	}
	// The page's HTML, as published (the card is rendered on the server).
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<p class="forecast">Forecast ₩90 at period end</p>`) {
		t.Errorf("page lacks the monthly forecast ₩90:\n%s", b)
	}
	for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
		if !strings.Contains(body, "forecast ₩90 at period end") || strings.Contains(body, "early estimate") {
			t.Errorf("digest %s part lacks the forecast ₩90:\n%s", part, body)
		}
	}
}

// Ensures a budget over its limit states one overrun everywhere, the amount report.Evaluate
// computed (Status.Over), none of the outputs subtracting the limit itself: the daily report of
// 29 November spends ₩43 against the daily budget's ₩3.5, over by ₩39.5. The page says "over by
// ₩40", the workbook's Remaining cell holds −39.5, the alert email says "over by ₩40" in both
// parts, and report.json states nothing remaining.
func TestEveryOutputStatesTheSameOverage(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 3, 9, 0, 0, 0, seoul))
	p := report.PeriodContaining(report.Daily, time.Date(2026, 11, 29, 0, 0, 0, 0, seoul), seoul)
	page, book, _ := f.run(t, p)
	st := report.Evaluate(dailyBudget, p, testkit.Dec("43"), f.env.now)
	want := testkit.Dec("39.5")
	if !st.Over.Equal(want) || !st.Remaining.IsZero() {
		t.Fatalf("report.Evaluate: over %s, remaining %s; the test needs over %s", st.Over, st.Remaining, want)
	}
	overText := "over by " + format.Format(want, "KRW")

	for _, b := range reportJSON(t, page).Budgets {
		if b.Name == dailyBudget.Name && (b.Remaining != "0" || b.Spent != "43") {
			t.Errorf("report.json %s: spent %s, remaining %s; want 43 and 0", b.Name, b.Spent, b.Remaining)
		}
	}
	if got := workbookCell(t, book, sheet.SheetBudgets, dailyBudget.Name, 5, true); !testkit.Dec(got).Equal(want.Neg()) {
		t.Errorf("workbook %s remaining = %s, want %s", dailyBudget.Name, got, want.Neg())
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), overText+"</span>") {
		t.Errorf("page lacks %q:\n%s", overText, b)
	}
	alerted := false
	for _, m := range f.smtp.Messages(t) {
		if !strings.Contains(m.Subject, dailyBudget.Name) || strings.Contains(m.Subject, "digest") {
			continue
		}
		alerted = true
		msg := f.smtp.Message(t, m.ID)
		for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
			if !strings.Contains(body, overText) {
				t.Errorf("alert %q, %s part, lacks %q:\n%s", m.Subject, part, overText, body)
			}
		}
	}
	if !alerted {
		t.Errorf("no alert about %s sent", dailyBudget.Name)
	}
}

// reportJSON reads the report.json beside a published page.
func reportJSON(t *testing.T, page string) api.Document {
	t.Helper()
	var doc api.Document
	b, err := os.ReadFile(filepath.Join(filepath.Dir(page), artifact.ReportJSONName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// budgetForecast is the forecast report.json states for the named budget.
func budgetForecast(doc api.Document, name string) *api.Forecast {
	for _, b := range doc.Budgets {
		if b.Name == name {
			return b.Forecast
		}
	}
	return nil
}

// workbookCell is column col of the row of sheet whose first cell is label: the stored value
// (raw) or the text Excel shows.
func workbookCell(t *testing.T, book, sheet, label string, col int, raw bool) string {
	t.Helper()
	f, err := excelize.OpenFile(book)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := f.GetRows(sheet, excelize.Options{RawCellValue: raw})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if len(r) > col && r[0] == label {
			return r[col]
		}
	}
	t.Fatalf("no row %q on %s", label, sheet)
	return ""
}
