package sheet

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

var tableSheets = []string{SheetDaily, SheetServices, SheetModels, SheetUsers, SheetOrgs, SheetBudgets, SheetEvents}

func TestSheetsInOrder(t *testing.T) {
	f := open(t, render(t, fixture(), Options{}))
	got := f.GetSheetList()
	want := []string{"Summary", "Daily", "By service", "By model", "By user", "By org", "Budgets & alerts", "Events"}
	if !slices.Equal(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	if i := f.GetActiveSheetIndex(); i != 0 {
		t.Errorf("active sheet = %d, want Summary (0)", i)
	}
}

// Ensures money, counts, percentages and latencies are number cells with the right formats.
func TestSummaryNumbersAndFormats(t *testing.T) {
	wb := fixture()
	f := open(t, render(t, wb, Options{}))
	cell := func(label string) string { return fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, label)) }
	for _, tc := range []struct {
		label, format string
		want          float64
	}{
		{"Total cost", "[$₩-412]#,##0", 12345.678},
		{"Requests", "#,##0", 10},
		{"Successes", "#,##0", 9},
		{"Failures", "#,##0", 1},
		{"Success rate", "0.00%", 0.9},
		{"Cache hits", "#,##0", 4},
		{"Cache hit rate", "0.00%", 0.4},
		// The report's figure, over the 9 priced requests (12,345.678 ÷ 9), as on the page.
		{"Average cost per priced request", "[$₩-412]#,##0.00", 1371.742},
		{"Input tokens", "#,##0", 1050},
		{"Cache read tokens", "#,##0", 300},
		{"Latency p95 (ms)", "#,##0", 1201}, // whole milliseconds
		{"Unpriced events (no cost known)", "#,##0", 1},
		{"Event rows listed", "#,##0", 2},
	} {
		ref := cell(tc.label)
		if got := number(t, f, SheetSummary, ref); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.label, got, tc.want)
		}
		if got := numFmt(t, f, SheetSummary, ref); got != tc.format {
			t.Errorf("%s format = %q, want %q", tc.label, got, tc.format)
		}
	}
	for label, want := range map[string]string{"Time zone": "Asia/Seoul", "Currency": "KRW", "Period": "2025-06", "Event sheets": "Events"} {
		if got := str(t, f, SheetSummary, cell(label)); got != want {
			t.Errorf("%s = %q, want %q", label, got, want)
		}
	}
	// The shown text, as Excel would render it: whole won for totals, two decimals per request.
	if got, _ := f.GetCellValue(SheetSummary, cell("Total cost")); got != "₩12,346" {
		t.Errorf("total cost shows %q, want ₩12,346", got)
	}
	if got, _ := f.GetCellValue(SheetSummary, cell("Average cost per priced request")); got != "₩1,371.74" {
		t.Errorf("average shows %q, want ₩1,371.74", got)
	}
}

// Ensures a per-event cost below one won still shows (₩7.80, not ₩8), unpriced is blank, and
// every column of an event row has its type.
func TestEventRowTypes(t *testing.T) {
	f := open(t, render(t, fixture(), Options{}))
	const s = SheetEvents
	if got := number(t, f, s, "K2"); got != 7.8 {
		t.Errorf("cost = %v, want 7.8", got)
	}
	if got := numFmt(t, f, s, "K2"); got != "[$₩-412]#,##0.00" {
		t.Errorf("cost format = %q", got)
	}
	if got, _ := f.GetCellValue(s, "K2"); got != "₩7.80" {
		t.Errorf("cost shows %q, want ₩7.80", got)
	}
	if got := raw(t, f, s, "K3"); got != "" {
		t.Errorf("unpriced cost = %q, want blank", got)
	}
	if got := str(t, f, s, "L3"); got != "none" {
		t.Errorf("cost source = %q", got)
	}
	for ref, want := range map[string]float64{"F2": 1000, "G2": 200, "H2": 300, "M2": 1200} {
		if got := number(t, f, s, ref); got != want {
			t.Errorf("%s = %v, want %v", ref, got, want)
		}
	}
	if ct, _ := f.GetCellType(s, "N2"); ct != excelize.CellTypeBool {
		t.Errorf("success type = %v, want bool", ct)
	}
	if got := raw(t, f, s, "N2"); got != "1" {
		t.Errorf("success = %q, want 1", got)
	}
	if got := raw(t, f, s, "N3"); got != "0" {
		t.Errorf("failure = %q, want 0", got)
	}
	for ref, want := range map[string]string{"B2": "ev-1", "C2": "chat", "D2": "gpt-4o", "E2": "openai", "O3": "rate limited",
		"Q2": "u1", "R2": "o1", "S2": "/v1/chat", "T2": `{"team":"qa"}`} {
		if got := str(t, f, s, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
}

// Ensures a day whose first instant is not midnight (8 March 2026 in Havana: the clocks go from
// 23:59:59 to 01:00) is still that date, as a whole-day serial, in the Daily sheet.
func TestDailyDateWithoutMidnight(t *testing.T) {
	havana := mustZone("America/Havana")
	wb := fixture()
	wb.Location = havana
	wb.Daily = []DailyRow{
		{Day: report.StartOfDay(2026, 3, 7, havana), Counts: Counts{Cost: testkit.Dec("1"), Requests: 1}},
		{Day: report.StartOfDay(2026, 3, 8, havana), Counts: Counts{Cost: testkit.Dec("2"), Requests: 1}}, // 01:00 CDT
		{Day: report.StartOfDay(2026, 3, 9, havana), Counts: Counts{Cost: testkit.Dec("3"), Requests: 1}},
	}
	f := open(t, render(t, wb, Options{}))
	for i, want := range []string{"2026-03-07", "2026-03-08", "2026-03-09"} {
		ref := fmt.Sprintf("A%d", i+2)
		if got := dateIn(t, f, SheetDaily, ref).Format(time.RFC3339); got != want+"T00:00:00Z" {
			t.Errorf("Daily!%s = %s; want the whole day %s", ref, got, want)
		}
	}
}

// Ensures times are date cells showing the wall clock of the report's zone, not UTC.
func TestDatesInReportZone(t *testing.T) {
	wb := fixture()
	f := open(t, render(t, wb, Options{}))
	// 2025-06-01 15:30 UTC is 2025-06-02 00:30 in Seoul: the day changes.
	if got, want := dateIn(t, f, SheetEvents, "A2"), time.Date(2025, 6, 2, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("event time = %v, want %v (Seoul wall clock)", got, want)
	}
	if got := numFmt(t, f, SheetEvents, "A2"); got != "yyyy-mm-dd hh:mm:ss" {
		t.Errorf("event time format = %q", got)
	}
	if got, _ := f.GetCellValue(SheetEvents, "A2"); got != "2025-06-02 00:30:00" {
		t.Errorf("event time shows %q", got)
	}
	if got, want := dateIn(t, f, SheetDaily, "A3"), time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("day = %v, want %v", got, want)
	}
	if got := numFmt(t, f, SheetDaily, "A3"); got != "yyyy-mm-dd" {
		t.Errorf("day format = %q", got)
	}
	gen := fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, "Generated at"))
	if got, want := dateIn(t, f, SheetSummary, gen), wall(wb.GeneratedAt, seoul); !got.Equal(want) {
		t.Errorf("generated at = %v, want %v", got, want)
	}
	at := dateIn(t, f, SheetBudgets, "A5")
	if want := wall(wb.Alerts[0].At, seoul); !at.Equal(want) {
		t.Errorf("alert time = %v, want %v", at, want)
	}
}

// Ensures every table sheet has its header frozen, filter buttons in the XML, and set widths.
func TestFrozenHeadersFiltersWidths(t *testing.T) {
	b := render(t, fixture(), Options{})
	f := open(t, b)
	p := parts(t, b)
	_, part := sheetParts(t, p)
	wantRef := map[string]string{
		SheetDaily: "$A$1:$K$3", SheetServices: "$A$1:$O$3", SheetModels: "$A$1:$O$2",
		SheetUsers: "$A$1:$O$3", SheetOrgs: "$A$1:$O$2", SheetEvents: "$A$1:$T$3",
	}
	for _, s := range tableSheets {
		panes, err := f.GetPanes(s)
		if err != nil {
			t.Fatalf("panes of %s: %v", s, err)
		}
		if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
			t.Errorf("%s panes = %+v, want header row frozen", s, panes)
		}
		w, err := f.GetColWidth(s, "B")
		if err != nil || w < 10 {
			t.Errorf("%s column B width = %v (%v), want a set width ≥ 10", s, w, err)
		}
		xmlText := p[part[s]]
		if ref, ok := wantRef[s]; ok {
			if !strings.Contains(xmlText, `<autoFilter ref="`+ref+`"`) {
				t.Errorf("%s: no <autoFilter ref=%q> in %s", s, ref, part[s])
			}
			continue
		}
		// Budgets & alerts: two Excel tables, each with its own filter.
		var filters []string
		for _, rel := range related(t, p, part[s]) {
			if strings.HasPrefix(rel, "xl/tables/") && strings.Contains(p[rel], "<autoFilter") {
				filters = append(filters, regexp.MustCompile(`ref="([^"]+)"`).FindStringSubmatch(p[rel])[1])
			}
		}
		slices.Sort(filters)
		if want := []string{"A1:J2", "A4:G5"}; !slices.Equal(filters, want) {
			t.Errorf("%s table ranges = %q, want %q", s, filters, want)
		}
	}
}

func TestBudgetsAndAlerts(t *testing.T) {
	f := open(t, render(t, fixture(), Options{}))
	const s = SheetBudgets
	if got := str(t, f, s, "A2"); got != "monthly-total" {
		t.Errorf("budget = %q", got)
	}
	for ref, want := range map[string]struct {
		v   float64
		fmt string
	}{
		"D2": {15000, "[$₩-412]#,##0"}, "E2": {12345.678, "[$₩-412]#,##0"}, "F2": {2654.322, "[$₩-412]#,##0"},
		// 12,345.678 of 15,000 is 82.304…%: the report's percent, truncated to 82.30 %.
		"G2": {0.823, "0.00%"}, "D5": {0.8, "0.00%"},
	} {
		if got := number(t, f, s, ref); fmt.Sprintf("%.7f", got) != fmt.Sprintf("%.7f", want.v) {
			t.Errorf("%s = %v, want %v", ref, got, want.v)
		}
		if got := numFmt(t, f, s, ref); got != want.fmt {
			t.Errorf("%s format = %q, want %q", ref, got, want.fmt)
		}
	}
	if got := raw(t, f, s, "H2"); got != "" {
		t.Errorf("no forecast should be blank, got %q", got)
	}
	for ref, want := range map[string]string{"A3": "", "A4": "Alert time", "B5": "monthly-total", "C4": "Alert period", "C5": "monthly 2025-06", "E5": "WARNING", "F5": "actual", "G5": "sent"} {
		if got := raw(t, f, s, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
}

// Ensures text that a spreadsheet could evaluate is stored as a string cell with a leading
// apostrophe, on streamed sheets (inline strings) and normal sheets (shared strings), and that
// the workbook holds no formula at all.
func TestFormulaInjection(t *testing.T) {
	cases := []string{"=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "\u3000@x", "=HYPERLINK(\"http://evil\",\"x\")"}
	safe := []string{"a=1", " a=1", "1-2", "user@example.com"}
	wb := fixture()
	var evs []report.Event
	wb.Services = nil
	for i, s := range append(slices.Clone(cases), safe...) {
		evs = append(evs, report.Event{OccurredAt: time.Date(2025, 6, 3, 0, 0, i, 0, seoul), EventID: s, UserID: s, Error: s, Tags: s})
		wb.Services = append(wb.Services, BreakdownRow{Name: s, Counts: Counts{Requests: 1}})
		wb.Budgets = append(wb.Budgets, BudgetRow{Name: s, Limit: testkit.Dec("1")})
	}
	wb.Events = eventsOf(evs)
	b := render(t, wb, Options{})
	f := open(t, b)
	for i, in := range append(slices.Clone(cases), safe...) {
		want := in
		if i < len(cases) {
			want = "'" + in
		}
		row := i + 2
		for _, c := range []struct{ sheet, col string }{
			{SheetEvents, "B"}, {SheetEvents, "O"}, {SheetEvents, "Q"}, {SheetEvents, "T"},
			{SheetServices, "A"}, {SheetBudgets, "A"},
		} {
			ref := fmt.Sprintf("%s%d", c.col, row+boolInt(c.sheet == SheetBudgets))
			if got := str(t, f, c.sheet, ref); got != want {
				t.Errorf("%s!%s = %q, want %q", c.sheet, ref, got, want)
			}
		}
	}
	for name, xmlText := range parts(t, b) {
		if strings.HasPrefix(name, "xl/worksheets/") && strings.Contains(xmlText, "<f>") {
			t.Errorf("%s contains a formula", name)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Ensures characters XML cannot hold never corrupt the file, _xHHHH_ stays literal, and text
// over Excel's cell limit is cut with a visible marker instead of silently.
func TestUntrustedTextSurvives(t *testing.T) {
	long := strings.Repeat("é", 40000)
	nasty := "bad\x00\x01\x08\x0b\x0c\x1f\uFFFE\uFFFF\xff end"
	wb := fixture()
	wb.Events = eventsOf([]report.Event{
		{OccurredAt: time.Date(2025, 6, 3, 0, 0, 0, 0, seoul), EventID: "e1", Error: nasty, Tags: "_x0041_ & <b>", UserID: "line1\nline2"},
		{OccurredAt: time.Date(2025, 6, 3, 0, 0, 1, 0, seoul), EventID: "e2", Error: long},
	})
	wb.Budgets = []BudgetRow{{Name: nasty, Limit: testkit.Dec("1")}}
	b := render(t, wb, Options{})
	for name, xmlText := range parts(t, b) {
		if strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels") {
			if err := wellFormed(xmlText); err != nil {
				t.Errorf("%s is not well-formed XML: %v", name, err)
			}
		}
	}
	f := open(t, b)
	want := "bad\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD end"
	if got := str(t, f, SheetEvents, "O2"); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if got := str(t, f, SheetBudgets, "A2"); got != want {
		t.Errorf("budget = %q, want %q", got, want)
	}
	if got := str(t, f, SheetEvents, "T2"); got != "_x0041_ & <b>" {
		t.Errorf("tags = %q", got)
	}
	if got := str(t, f, SheetEvents, "Q2"); got != "line1\nline2" {
		t.Errorf("user = %q", got)
	}
	got := str(t, f, SheetEvents, "O3")
	if n := utf16Len(got); n > maxCellChars {
		t.Errorf("long text is %d UTF-16 units, over Excel's %d", n, maxCellChars)
	}
	if !strings.HasSuffix(got, "characters shown]") || !strings.Contains(got, "of 40000 characters") || !strings.HasPrefix(got, "éééé") {
		t.Errorf("long text lacks the truncation marker: …%q", got[len(got)-60:])
	}
}

// Ensures events past the row limit continue on Events (2), Events (3)… each with its header,
// filter and frozen pane, with every event exactly once and in order.
func TestEventsContinueOnNewSheets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events int
		sheets []string
		rows   []int
	}{
		{"8 events, 3 per sheet", 8, []string{"Events", "Events (2)", "Events (3)"}, []int{3, 3, 2}},
		{"exactly full sheets", 6, []string{"Events", "Events (2)"}, []int{3, 3}},
		{"no events", 0, []string{"Events"}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wb := fixture()
			var evs []report.Event
			for i := range tc.events {
				evs = append(evs, report.Event{OccurredAt: time.Date(2025, 6, 3, 0, 0, i, 0, seoul), EventID: fmt.Sprintf("ev-%02d", i), Cost: priced("1.5")})
			}
			wb.Events = eventsOf(evs)
			b := render(t, wb, Options{MaxRowsPerSheet: 3})
			f := open(t, b)
			p := parts(t, b)
			names, part := sheetParts(t, p)
			if got := names[7:]; !slices.Equal(got, tc.sheets) {
				t.Fatalf("event sheets = %q, want %q", got, tc.sheets)
			}
			var seen []string
			for i, s := range tc.sheets {
				rows, err := f.GetRows(s)
				if err != nil {
					t.Fatalf("rows of %s: %v", s, err)
				}
				if len(rows) != tc.rows[i]+1 {
					t.Errorf("%s has %d rows, want header + %d", s, len(rows), tc.rows[i])
				}
				if got := rows[0][0] + "|" + rows[0][10]; got != "Occurred at|Cost" {
					t.Errorf("%s header = %q", s, rows[0])
				}
				for r := 2; r <= len(rows); r++ {
					seen = append(seen, str(t, f, s, fmt.Sprintf("B%d", r)))
					if got := number(t, f, s, fmt.Sprintf("K%d", r)); got != 1.5 {
						t.Errorf("%s!K%d = %v", s, r, got)
					}
				}
				if panes, _ := f.GetPanes(s); !panes.Freeze || panes.YSplit != 1 {
					t.Errorf("%s header not frozen: %+v", s, panes)
				}
				if ref := fmt.Sprintf(`<autoFilter ref="$A$1:$T$%d"`, tc.rows[i]+1); !strings.Contains(p[part[s]], ref) {
					t.Errorf("%s lacks %s", s, ref)
				}
			}
			var want []string
			for _, e := range evs {
				want = append(want, e.EventID)
			}
			if !slices.Equal(seen, want) {
				t.Errorf("event ids = %q, want each once in order %q", seen, want)
			}
			listed := fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, "Event rows listed"))
			if got := number(t, f, SheetSummary, listed); int(got) != tc.events {
				t.Errorf("event rows listed = %v, want %d", got, tc.events)
			}
		})
	}
}

// Ensures totals are summed in decimal and stored correctly rounded: adding these amounts as
// floats drifts (0.1 + 0.7 = 0.7999999999999999), and excelize alone would cut digits past the
// 15th instead of rounding them; both would change the stored digits checked here.
func TestTotalsAreExactDecimalSums(t *testing.T) {
	for _, tc := range []struct {
		name    string
		amounts []string
		want    string // stored digits of every total
	}{
		{"float addition drifts", []string{"0.1", "0.7"}, "0.8"},
		{"many digits", []string{"0.1", "0.2", "0.3", "1234.5678901234", "0.0000001", "98765.4321098765", "7.8"}, "100008.4000001"},
		{"won amounts", []string{"12000", "345.678", "0.0001"}, "12345.6781"},
		// A float running sum of a thousand 0.1s is 99.9999999999986: wrong in the 15th digit.
		{"many small amounts", slices.Repeat([]string{"0.1"}, 1000), "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum decimal.Decimal
			wb := fixture()
			wb.Services, wb.Daily = nil, nil
			for i, a := range tc.amounts {
				sum = sum.Add(testkit.Dec(a))
				wb.Services = append(wb.Services, BreakdownRow{Name: fmt.Sprintf("svc-%d", i), Counts: Counts{Cost: testkit.Dec(a), Requests: 1}})
				wb.Daily = append(wb.Daily, DailyRow{Day: time.Date(2025, 6, 1+i, 0, 0, 0, 0, seoul), Counts: Counts{Cost: testkit.Dec(a), Requests: 1}})
			}
			wb.Summary.TotalCost = sum
			wb.Summary.Requests = int64(len(tc.amounts))
			f := open(t, render(t, wb, Options{}))
			totalRow := len(tc.amounts) + 3 // header, rows, blank line
			for _, c := range []struct{ sheet, ref string }{
				{SheetSummary, fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, "Total cost"))},
				{SheetServices, fmt.Sprintf("B%d", totalRow)},
				{SheetDaily, fmt.Sprintf("B%d", totalRow)},
			} {
				number(t, f, c.sheet, c.ref)
				if got := raw(t, f, c.sheet, c.ref); got != tc.want {
					t.Errorf("%s!%s = %s, want %s", c.sheet, c.ref, got, tc.want)
				}
			}
			if got := str(t, f, SheetServices, fmt.Sprintf("A%d", totalRow)); got != "Total" {
				t.Errorf("services total label = %q", got)
			}
			if got := number(t, f, SheetServices, fmt.Sprintf("D%d", totalRow)); got != float64(len(tc.amounts)) {
				t.Errorf("services total requests = %v", got)
			}
			// Shares are decimal quotients of the sheet total; the total row shows 100%.
			if got := number(t, f, SheetServices, fmt.Sprintf("C%d", totalRow)); got != 1 {
				t.Errorf("total share = %v, want 1", got)
			}
			share := testkit.Dec(tc.amounts[0]).DivRound(sum, 40)
			if got := raw(t, f, SheetServices, "C2"); !testkit.Dec(got).Equal(share.Round(excelDigits - int32(share.NumDigits()) - share.Exponent())) {
				t.Errorf("share = %s, want %s to 15 digits", got, share)
			}
		})
	}
}

func TestCellNumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0"},
		{"7.8", "7.8"},
		{"100008.4000000999", "100008.4000001"},
		{"-100008.4000000999", "-100008.4000001"},
		{"0.00000012345678901234567", "0.000000123456789012346"},
		{"123456789012345678", "123456789012346000"},
		{"999999999999999.5", "1000000000000000"},
	} {
		if got := decimal.NewFromFloat(cellNumber(testkit.Dec(tc.in))); !got.Equal(testkit.Dec(tc.want)) {
			t.Errorf("cellNumber(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestChartOnSummary(t *testing.T) {
	b := render(t, fixture(), Options{})
	p := parts(t, b)
	_, part := sheetParts(t, p)
	summary := part[SheetSummary]
	if !strings.Contains(p[summary], "<drawing ") {
		t.Fatalf("Summary sheet XML has no <drawing>: the chart would not show")
	}
	var chart string
	for _, d := range related(t, p, summary) {
		for _, c := range related(t, p, d) {
			if strings.HasPrefix(c, "xl/charts/") {
				chart = p[c]
			}
		}
	}
	if chart == "" {
		t.Fatalf("no chart linked from the Summary drawing")
	}
	for _, want := range []string{"<barDir val=\"col\">", "&#39;Daily&#39;!$A$2:$A$3", "&#39;Daily&#39;!$B$2:$B$3", "Daily cost (KRW)"} {
		if !strings.Contains(chart, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestMoneyFormat(t *testing.T) {
	for _, tc := range []struct {
		cur  string
		dec  int32
		want string
	}{
		{"KRW", 0, "[$₩-412]#,##0"},
		{"KRW", 2, "[$₩-412]#,##0.00"},
		{"usd", 2, "[$$-409]#,##0.00"},
		{"USD", 4, "[$$-409]#,##0.0000"},
		{"EUR", 2, "[$€-407]#,##0.00"},
		{"XYZ", 2, `"XYZ "#,##0.00`},
	} {
		if got := moneyFormat(tc.cur, tc.dec); got != tc.want {
			t.Errorf("moneyFormat(%s, %d) = %q, want %q", tc.cur, tc.dec, got, tc.want)
		}
	}
	wb := fixture()
	wb.Currency = "USD"
	f := open(t, render(t, wb, Options{}))
	if got, _ := f.GetCellValue(SheetEvents, "K2"); got != "$7.8000" {
		t.Errorf("USD event cost shows %q, want $7.8000", got)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Workbook, *Options)
		want string
	}{
		{"no time zone", func(w *Workbook, _ *Options) { w.Location = nil }, "time zone"},
		{"bad currency", func(w *Workbook, _ *Options) { w.Currency = `K"W` }, "currency"},
		{"negative row limit", func(_ *Workbook, o *Options) { o.MaxRowsPerSheet = -1 }, "negative"},
		{"row limit over Excel's", func(_ *Workbook, o *Options) { o.MaxRowsPerSheet = ExcelMaxRows }, "exceeds"},
		{"events source fails", func(w *Workbook, _ *Options) {
			w.Events = func(emit func(report.Event) error) error { return errors.New("connection reset") }
		}, "read events: connection reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wb, opt := fixture(), Options{}
			tc.edit(&wb, &opt)
			err := Write(&strings.Builder{}, wb, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Ensures an emit kept past the callback's return fails instead of writing into a closed sheet.
func TestEmitAfterReturn(t *testing.T) {
	wb := fixture()
	var kept func(report.Event) error
	wb.Events = func(emit func(report.Event) error) error { kept = emit; return nil }
	render(t, wb, Options{})
	if err := kept(report.Event{EventID: "late"}); err == nil {
		t.Fatal("emit after the callback returned succeeded, want an error")
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"a=1", "a=1"},
		{"x\x00y\x1fz", "x\uFFFDy\uFFFDz"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"\xffbroken", "\uFFFDbroken"},
		{"", ""},
	} {
		if got := text(tc.in); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Cut at the limit in UTF-16 units: emoji count two.
	got := text(strings.Repeat("😀", 20000))
	if n := utf16Len(got); n > maxCellChars || n < maxCellChars-10 {
		t.Errorf("cut text has %d UTF-16 units, want just under %d", n, maxCellChars)
	}
	if !strings.HasSuffix(got, "of 40000 characters shown]") {
		t.Errorf("marker missing: …%q", got[len(got)-50:])
	}
	if exact := strings.Repeat("a", maxCellChars); text(exact) != exact {
		t.Errorf("text at exactly the limit was changed")
	}
}
