package sheet

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/report"
)

// putRow writes cells (excelize.Cell values, as built by sheet.cells) on a normal-mode sheet.
func putRow(f *excelize.File, name string, row int, cells []any) error {
	for i, c := range cells {
		cell := c.(excelize.Cell)
		ref, _ := excelize.CoordinatesToCellName(i+1, row)
		// Style first: a time written into an unstyled cell makes excelize add a style of its own.
		if err := f.SetCellStyle(name, ref, ref, cell.StyleID); err != nil {
			return fmt.Errorf("style %s!%s: %w", name, ref, err)
		}
		if err := f.SetCellValue(name, ref, cell.Value); err != nil {
			return fmt.Errorf("set %s!%s: %w", name, ref, err)
		}
	}
	return nil
}

// budgets writes the budgets table and, below it, the alerts table. A sheet has only one
// autoFilter, so each block is an Excel table, which carries its own filter.
func (b *builder) budgets() error {
	f, name := b.f, SheetBudgets
	if _, err := f.NewSheet(name); err != nil {
		return fmt.Errorf("add sheet %q: %w", name, err)
	}
	budgetCols := []column{
		{"Budget", 24, kText},
		{"Scope", 24, kText},
		{"Period", 18, kText},
		{"Limit", 16, kMoney},
		{"Spent", 16, kMoney},
		{"Remaining", 16, kMoney},
		{"Used", 10, kPercent},
		{"Forecast", 16, kMoney},
		{"State", 12, kText},
		{"As of", 20, kDateTime},
	}
	alertCols := []column{
		{"Alert time", 20, kDateTime},
		{"Alert budget", 24, kText},
		{"Alert period", 18, kText},
		{"Threshold", 18, kPercent},
		{"Severity", 16, kText},
		{"Kind", 16, kText},
		{"Status", 10, kText},
	}
	// One set of widths serves both blocks: the wider of the two columns.
	for i := range max(len(budgetCols), len(alertCols)) {
		var w float64
		if i < len(budgetCols) {
			w = budgetCols[i].width
		}
		if i < len(alertCols) {
			w = max(w, alertCols[i].width)
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(name, col, col, w); err != nil {
			return fmt.Errorf("set width on %q: %w", name, err)
		}
	}
	if err := f.SetPanes(name, frozenHeader()); err != nil {
		return fmt.Errorf("freeze header on %q: %w", name, err)
	}

	bs, err := newSheet(b.st, name, budgetCols, b.wb.Location)
	if err != nil {
		return err
	}
	rows := make([][]any, 0, len(b.wb.Budgets))
	for _, r := range b.wb.Budgets {
		rows = append(rows, []any{r.Name, r.Scope, r.Period, r.Limit, r.Spent, r.remaining(),
			percentCell(r.Spent, r.Limit), r.Forecast, r.State, r.AsOf})
	}
	next, err := b.block(bs, 1, "Budgets", rows, "No budgets are configured.")
	if err != nil {
		return err
	}

	as, err := newSheet(b.st, name, alertCols, b.wb.Location)
	if err != nil {
		return err
	}
	rows = rows[:0]
	for _, a := range b.wb.Alerts {
		rows = append(rows, []any{a.At, a.Budget, a.Period, decimal.New(int64(a.Threshold), -2), a.Severity, a.Kind, a.Status})
	}
	_, err = b.block(as, next+2, "Alerts", rows, "No alerts in this period.")
	return err
}

// block writes a header at row top and the rows under it, as an Excel table named table (a
// table needs at least one data row; with none, a note is written instead). It returns the
// last row used.
func (b *builder) block(s *sheet, top int, table string, rows [][]any, none string) (int, error) {
	if err := putRow(b.f, s.name, top, s.headerCells()); err != nil {
		return 0, err
	}
	for i, vals := range rows {
		cells, err := s.cells(vals, false)
		if err != nil {
			return 0, err
		}
		if err := putRow(b.f, s.name, top+1+i, cells); err != nil {
			return 0, err
		}
	}
	last := top + len(rows)
	if len(rows) == 0 {
		ref, _ := excelize.CoordinatesToCellName(1, top+1)
		if err := b.f.SetCellStr(s.name, ref, none); err != nil {
			return 0, fmt.Errorf("set %s!%s: %w", s.name, ref, err)
		}
		return top + 1, nil
	}
	ref := fmt.Sprintf("A%d:%s%d", top, s.lastCol(), last)
	if err := b.f.AddTable(s.name, &excelize.Table{Range: ref, Name: table, StyleName: "TableStyleLight9"}); err != nil {
		return 0, fmt.Errorf("add table %s on %q: %w", table, s.name, err)
	}
	return last, nil
}

var eventCols = []column{
	{"Occurred at", 20, kDateTime},
	{"Event ID", 38, kText},
	{"Service", 20, kText},
	{"Model", 26, kText},
	{"Provider", 12, kText},
	{"Input tokens", 13, kInt},
	{"Output tokens", 13, kInt},
	{"Cache read tokens", 13, kInt},
	{"Cache write tokens", 13, kInt},
	{"Reasoning tokens", 13, kInt},
	{"Cost", 16, kMoneyFine},
	{"Cost source", 11, kText},
	{"Duration (ms)", 12, kInt},
	{"Success", 9, kBool},
	{"Error", 40, kText},
	{"Cache hit", 9, kBool},
	{"User", 22, kText},
	{"Organisation", 22, kText},
	{"Endpoint", 22, kText},
	{"Tags", 40, kText},
}

// events streams the caller's events into Events, Events (2), … each holding at most
// MaxRowsPerSheet rows under its own header.
func (b *builder) events() error {
	if b.wb.EventsOmitted != "" {
		return b.eventsNote()
	}
	sh, err := newSheet(b.st, SheetEvents, eventCols, b.wb.Location)
	if err != nil {
		return err
	}
	cur, err := startStream(b.f, sh)
	if err != nil {
		return err
	}
	b.eventSheets = append(b.eventSheets, SheetEvents)
	// failed remembers the first write error: a callback that ignores emit's error and keeps
	// emitting must not get a half-written workbook reported as success.
	var failed error
	emit := func(e report.Event) error {
		if failed != nil {
			return failed
		}
		if cur.rows == b.opt.MaxRowsPerSheet {
			if err := cur.finish(nil); err != nil {
				failed = err
				return err
			}
			next := *sh
			next.name = fmt.Sprintf("%s (%d)", SheetEvents, len(b.eventSheets)+1)
			if cur, err = startStream(b.f, &next); err != nil {
				failed = err
				return err
			}
			b.eventSheets = append(b.eventSheets, next.name)
		}
		err := cur.add(e.OccurredAt, e.EventID, e.Service, e.Model, e.Provider,
			e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens,
			e.Cost, e.CostSource, e.DurationMS, e.Success, e.Error, e.CacheHit,
			e.UserID, e.OrgID, e.Endpoint, e.Tags)
		if err != nil {
			failed = err
			return err
		}
		b.eventRows++
		return nil
	}
	if b.wb.Events != nil {
		err := b.wb.Events(emit)
		if failed != nil {
			return fmt.Errorf("write events: %w", failed)
		}
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
	}
	// Later emits (a callback that kept emit) must not write into a flushed sheet.
	failed = fmt.Errorf("write events: emit called after the events callback returned")
	return cur.finish(nil)
}

// eventsNote writes the Events sheet of a workbook that does not list the events: one row
// saying why and linking the CSV beside the workbook.
func (b *builder) eventsNote() error {
	f, name := b.f, SheetEvents
	if _, err := f.NewSheet(name); err != nil {
		return fmt.Errorf("add sheet %q: %w", name, err)
	}
	b.eventSheets = append(b.eventSheets, name)
	if err := f.SetColWidth(name, "A", "A", 120); err != nil {
		return fmt.Errorf("set width on %q: %w", name, err)
	}
	if b.wb.EventsCSV == "" { // no events export: the note says why, there is nothing to link
		return b.f.SetCellStr(name, "A1", text(strings.TrimSpace(b.wb.EventsOmitted)))
	}
	note := fmt.Sprintf("%s Every event of the period is in %s, published beside this workbook (gzip-compressed CSV, the columns of this sheet).",
		strings.TrimSpace(b.wb.EventsOmitted), b.wb.EventsCSV)
	return b.linkCell(name, "A1", text(note), b.wb.EventsCSV)
}

// linkCell writes s into ref as a link to target, a file beside the workbook. The link is
// relative, so it works wherever the two files are downloaded to together.
func (b *builder) linkCell(sheet, ref, s, target string) error {
	id, err := b.st.get("", link)
	if err != nil {
		return err
	}
	if err := b.f.SetCellStr(sheet, ref, s); err != nil {
		return fmt.Errorf("set %s!%s: %w", sheet, ref, err)
	}
	if err := b.f.SetCellStyle(sheet, ref, ref, id); err != nil {
		return fmt.Errorf("style %s!%s: %w", sheet, ref, err)
	}
	if err := b.f.SetCellHyperLink(sheet, ref, target, "External"); err != nil {
		return fmt.Errorf("link %s!%s: %w", sheet, ref, err)
	}
	return nil
}

// csvLabel labels the Summary row that links the events CSV.
const csvLabel = "All events (CSV)"

// focusLabel labels the Summary row that links the FOCUS CSV.
const focusLabel = "FinOps FOCUS (CSV)"

// summary writes the KPI list and the daily cost chart.
func (b *builder) summary() error {
	f, name, wb := b.f, SheetSummary, b.wb
	if err := f.SetColWidth(name, "A", "A", 34); err != nil {
		return fmt.Errorf("set width on %q: %w", name, err)
	}
	if err := f.SetColWidth(name, "B", "B", 28); err != nil {
		return fmt.Errorf("set width on %q: %w", name, err)
	}
	titleStyle, err := b.st.get("", title)
	if err != nil {
		return err
	}
	heading := "AI spend report " + wb.Period.Label
	if wb.Progress != "" {
		heading += " (" + wb.Progress + ")"
	}
	if err := f.SetCellStr(name, "A1", text(heading)); err != nil {
		return fmt.Errorf("set %s!A1: %w", name, err)
	}
	if err := f.SetCellStyle(name, "A1", "A1", titleStyle); err != nil {
		return fmt.Errorf("style %s!A1: %w", name, err)
	}

	kpis := b.summaryKPIs()
	hdr, err := newSheet(b.st, name, []column{{"Metric", 34, kText}, {"Value", 28, kText}}, wb.Location)
	if err != nil {
		return err
	}
	if err := putRow(f, name, 3, hdr.headerCells()); err != nil {
		return err
	}
	for i, k := range kpis {
		id, err := b.st.get(b.st.format(k.kind), plain)
		if err != nil {
			return err
		}
		cells := []any{excelize.Cell{Value: text(k.label)}, excelize.Cell{StyleID: id, Value: value(k.val, wb.Location)}}
		if err := putRow(f, name, 4+i, cells); err != nil {
			return err
		}
		for _, l := range []struct{ label, file string }{{csvLabel, wb.EventsCSV}, {focusLabel, wb.FocusCSV}} {
			if k.label == l.label {
				if err := b.linkCell(name, fmt.Sprintf("B%d", 4+i), text(l.file), l.file); err != nil {
					return err
				}
			}
		}
	}
	return b.chart()
}

// summaryKPI is one row of the Summary sheet: a label and a value of a kind.
type summaryKPI struct {
	label string
	val   any
	kind  kind
}

// summaryKPIs are the rows of the Summary sheet, in order.
func (b *builder) summaryKPIs() []summaryKPI {
	wb := b.wb
	s := wb.Summary
	requests, total := count(s.Requests), s.TotalCost
	var lat [3]any
	if s.Latency != nil {
		lat = [3]any{wholeMillis(s.Latency.P50), wholeMillis(s.Latency.P95), wholeMillis(s.Latency.P99)}
	} else {
		lat = [3]any{"n/a", "n/a", "n/a"}
	}
	kpis := []summaryKPI{
		{"Period", wb.Period.Label, kText},
		{"Period start", wb.Period.Start, kDateTime},
		{"Period end (exclusive)", wb.Period.End, kDateTime},
		{"Period status", periodStatus(wb.Progress), kText},
	}
	if wb.Progress != "" {
		kpis = append(kpis, summaryKPI{"Figures as of", wb.AsOf, kDateTime})
	}
	kpis = append(kpis, []summaryKPI{
		{"Time zone", wb.Location.String(), kText},
		{"Currency", strings.ToUpper(wb.Currency), kText},
		{"Generated at", wb.GeneratedAt, kDateTime},
		{"", nil, kText},
		{"Total cost", total, kMoney},
		{"Requests", s.Requests, kInt},
		{"Successes", s.Successes, kInt},
		{"Failures", s.Requests - s.Successes, kInt},
		{"Success rate", percentCell(count(s.Successes), requests), kPercent},
		{"Cache hits", s.CacheHits, kInt},
		{"Cache hit rate", percentCell(count(s.CacheHits), requests), kPercent},
		{"Average cost per priced request", s.AvgCost, kMoneyFine},
		{"Input tokens", s.Tokens.Input, kInt},
		{"Output tokens", s.Tokens.Output, kInt},
		{"Cache read tokens", s.Tokens.CacheRead, kInt},
		{"Cache write tokens", s.Tokens.CacheWrite, kInt},
		{"Reasoning tokens", s.Tokens.Reasoning, kInt},
	}...)
	if s.CacheSavings.Valid {
		kpis = append(kpis, summaryKPI{"Prompt-cache savings", s.CacheSavings.Decimal, kMoney})
	}
	kpis = append(kpis, []summaryKPI{
		{"Latency p50 (ms)", lat[0], kMillis},
		{"Latency p95 (ms)", lat[1], kMillis},
		{"Latency p99 (ms)", lat[2], kMillis},
		{"Unpriced events (no cost known)", s.Unpriced, kInt},
	}...)
	for _, m := range s.UnpricedModels {
		kpis = append(kpis, summaryKPI{"Unpriced model", m, kText})
	}
	kpis = append(kpis, []summaryKPI{
		{"Event rows listed", b.eventRows, kInt},
		{"Event sheets", listSheets(b.eventSheets), kText},
	}...)
	if wb.EventsCSV != "" {
		kpis = append(kpis, summaryKPI{csvLabel, wb.EventsCSV, kText})
	}
	if wb.FocusCSV != "" {
		kpis = append(kpis, summaryKPI{focusLabel, wb.FocusCSV, kText})
	}
	for _, r := range wb.Rates {
		// A number cell (what amounts were converted with, exactly as configured) and the date
		// it was set as a date cell, so that finance can compute with both.
		label := fmt.Sprintf("Exchange rate: %s per 1 %s", strings.ToUpper(wb.Currency), strings.ToUpper(r.Currency))
		kpis = append(kpis, summaryKPI{label, r.Value, kRate})
		if d, err := time.Parse(time.DateOnly, r.Since); err == nil {
			kpis = append(kpis, summaryKPI{fmt.Sprintf("Exchange rate %s set on", strings.ToUpper(r.Currency)), calendarDate{d.Year(), d.Month(), d.Day()}, kDate})
		}
	}
	return kpis
}

// periodStatus is the Summary's "Period status": the progress of a period in progress
// ("month to date, 7 of 31 days"), else "complete".
func periodStatus(progress string) string {
	if progress != "" {
		return progress
	}
	return "complete"
}

// wholeMillis is a latency in whole milliseconds: a percentile from a histogram has no
// meaningful fraction of a millisecond.
func wholeMillis(ms float64) int64 { return int64(math.Round(ms)) }

func listSheets(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … %s (%d sheets)", names[0], names[len(names)-1], len(names))
}

// chartTitle names the Summary chart; a period in progress says it is one ("month to date"),
// since its last column is the day so far.
func chartTitle(wb *Workbook) string {
	t := fmt.Sprintf("Daily cost (%s)", strings.ToUpper(wb.Currency))
	if wb.Progress != "" {
		t += ", " + wb.Progress
	}
	return t
}

// chart puts a daily cost column chart on Summary. Charts only survive on normal-mode sheets
// (on a streamed sheet the drawing is written but never linked); its data stays on Daily.
func (b *builder) chart() error {
	n := len(b.wb.Daily)
	if n == 0 {
		return nil
	}
	ref := func(col string) string { return fmt.Sprintf("'%s'!$%s$2:$%s$%d", SheetDaily, col, col, n+1) }
	noVary := false
	c := &excelize.Chart{
		Type: excelize.Col,
		Series: []excelize.ChartSeries{{
			Name:       fmt.Sprintf("'%s'!$B$1", SheetDaily),
			Categories: ref("A"),
			Values:     ref("B"),
		}},
		Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{
			Text: chartTitle(b.wb),
		}}},
		Legend:     excelize.ChartLegend{Position: "none"},
		VaryColors: &noVary,
		Dimension:  excelize.ChartDimension{Width: 720, Height: 360},
		XAxis: excelize.ChartAxis{NumFmt: excelize.ChartNumFmt{CustomNumFmt: "mm-dd"},
			Font: excelize.Font{Color: "404040"}},
		YAxis: excelize.ChartAxis{MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: b.st.money()},
			Font: excelize.Font{Color: "404040"}},
	}
	if err := b.f.AddChart(SheetSummary, "D3", c); err != nil {
		return fmt.Errorf("add daily cost chart: %w", err)
	}
	return nil
}
