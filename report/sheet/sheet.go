// Package sheet renders a period's spend as an Excel workbook for finance.
//
// Write takes view structs (Workbook) and writes the .xlsx to an io.Writer. Sheets, in order:
// Summary, Daily, By service, By model, By user, By org, By endpoint and By tag <key> (one per
// configured tag key), Budgets & alerts, Events, then
// Events (2), Events (3)… when the events pass the sheet row limit. EventsCSV writes the same
// events as a gzip-compressed CSV, for periods too large to list in a workbook; the workbook
// then links it (Workbook.EventsCSV, Workbook.EventsOmitted). The events are streamed:
// they arrive through a callback, are written with excelize's StreamWriter (which spills to
// temporary files past 16 MB) and the zip is written straight to the io.Writer, so memory does
// not grow with the number of events.
package sheet

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/report"
)

// ExcelMaxRows is Excel's row limit per sheet, header included.
const ExcelMaxRows = 1_048_576

// Sheet names, in workbook order. Further event sheets are "Events (2)", "Events (3)"…
const (
	SheetSummary  = "Summary"
	SheetDaily    = "Daily"
	SheetServices = "By service"
	SheetModels   = "By model"
	SheetUsers    = "By user"
	SheetOrgs     = "By org"
	SheetBudgets  = "Budgets & alerts"
	SheetEvents   = "Events"
)

// Options tune Write.
type Options struct {
	// MaxRowsPerSheet is the number of event rows per Events sheet, header not counted.
	// Zero means Excel's limit, 1,048,575. Tests use a small value.
	MaxRowsPerSheet int
	// TmpDir is where excelize spills streamed sheets; empty means the system default.
	TmpDir string
}

var currencyCode = regexp.MustCompile(`^[A-Za-z]{3}$`)

// Write renders wb as an .xlsx workbook to w.
func Write(w io.Writer, wb Workbook, opt Options) (err error) {
	if err := check(&wb, &opt); err != nil {
		return err
	}
	f := excelize.NewFile(excelize.Options{TmpDir: opt.TmpDir})
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close workbook: %w", cerr)
		}
	}()
	b := &builder{f: f, wb: &wb, opt: opt, st: newStyles(f, strings.ToUpper(wb.Currency))}
	if err := b.build(); err != nil {
		return err
	}
	// excelize's Write assembles the whole zip in a bytes.Buffer; handing it a zip writer bound
	// to w instead streams the archive out and keeps memory flat. Its buffer stays empty (and
	// its zip64 header patch, needed only for parts over 4 GiB, has nothing to patch).
	var zw *zip.Writer
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw = zip.NewWriter(w)
		return zw
	})
	if err := f.Write(io.Discard); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	if zw == nil {
		return errors.New("write workbook: zip writer not used")
	}
	return nil
}

func check(wb *Workbook, opt *Options) error {
	var problems []string
	if wb.Location == nil {
		problems = append(problems, "time zone (Location) is required")
	}
	if !currencyCode.MatchString(wb.Currency) {
		problems = append(problems, fmt.Sprintf("currency %q is not a three-letter code", wb.Currency))
	}
	for _, f := range []struct{ field, name string }{{"EventsCSV", wb.EventsCSV}, {"FocusCSV", wb.FocusCSV}} {
		if strings.ContainsAny(f.name, `/\:?#`) || strings.HasPrefix(f.name, ".") {
			problems = append(problems, fmt.Sprintf("%s %q is not a plain file name (it is linked relative to the workbook)", f.field, f.name))
		}
	}
	switch {
	case opt.MaxRowsPerSheet < 0:
		problems = append(problems, fmt.Sprintf("MaxRowsPerSheet %d is negative", opt.MaxRowsPerSheet))
	case opt.MaxRowsPerSheet > ExcelMaxRows-1:
		problems = append(problems, fmt.Sprintf("MaxRowsPerSheet %d exceeds Excel's %d data rows", opt.MaxRowsPerSheet, ExcelMaxRows-1))
	case opt.MaxRowsPerSheet == 0:
		opt.MaxRowsPerSheet = ExcelMaxRows - 1
	}
	if len(problems) > 0 {
		return fmt.Errorf("check workbook: %s", strings.Join(problems, "; "))
	}
	return nil
}

type builder struct {
	f   *excelize.File
	wb  *Workbook
	opt Options
	st  *styles

	eventRows   int64
	eventSheets []string
}

func (b *builder) build() error {
	// The default sheet becomes Summary; the other sheets are appended in order, so the event
	// continuation sheets naturally come last.
	if err := b.f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return fmt.Errorf("name summary sheet: %w", err)
	}
	// Summary opens first. Set before any other sheet exists: SetActiveSheet reads every sheet
	// back, and a streamed sheet is parsed again from its XML (a third of a daily run's time with
	// a few thousand users).
	b.f.SetActiveSheet(0)
	steps := []func() error{
		b.daily,
		func() error { return b.breakdown(SheetServices, "Service", b.wb.Services) },
		func() error { return b.breakdown(SheetModels, "Model", b.wb.Models) },
		func() error { return b.breakdown(SheetUsers, "User", b.wb.Users) },
		func() error { return b.breakdown(SheetOrgs, "Organisation", b.wb.Orgs) },
		b.chargeback,
		b.budgets,
		b.envelopes,
		b.events,
		// Summary last: it reports how many event rows and sheets were written. It is a normal
		// (non-stream) sheet, the only kind that can hold a chart.
		b.summary,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

var tokenCols = []column{
	{"Input tokens", 14, kInt},
	{"Output tokens", 14, kInt},
	{"Cache read tokens", 14, kInt},
	{"Cache write tokens", 14, kInt},
	{"Reasoning tokens", 14, kInt},
}

func tokenVals(t Tokens) []any {
	return []any{t.Input, t.Output, t.CacheRead, t.CacheWrite, t.Reasoning}
}

// countCols are the columns of Counts after the cost, the Daily sheet's and every breakdown's:
// the counts, then the tokens (countVals).
var countCols = append([]column{
	{"Requests", 11, kInt},
	{"Failures", 10, kInt},
	{"Cache hits", 11, kInt},
	{"Unpriced", 10, kInt},
}, tokenCols...)

func countVals(c Counts) []any {
	return append([]any{c.Requests, c.Failures, c.CacheHits, c.Unpriced}, tokenVals(c.Tokens)...)
}

func (t Tokens) plus(o Tokens) Tokens {
	return Tokens{t.Input + o.Input, t.Output + o.Output, t.CacheRead + o.CacheRead,
		t.CacheWrite + o.CacheWrite, t.Reasoning + o.Reasoning}
}

// ratio is a/b as a fraction for a percent cell, computed in decimal; nil (blank) when b is 0.
// ratio is a share's percent cell: a as an exact fraction of b (shares sum to the total row);
// nil (blank) when b is zero.
func ratio(a, b decimal.Decimal) any {
	if b.IsZero() {
		return nil
	}
	return a.DivRound(b, 30)
}

// percentCell is a rate's or a budget's percent cell: the report's percent (report.Percent,
// truncated to two decimals) as a fraction, so that the cell's 0.00% format shows the figure
// the page, the emails and report.json state (99.996 % is 99.99 %, never 100.00 %); nil (blank)
// when whole is zero.
func percentCell(part, whole decimal.Decimal) any {
	if whole.IsZero() {
		return nil
	}
	return report.PercentOf(part, whole).Shift(-2)
}

func count(n int64) decimal.Decimal { return decimal.NewFromInt(n) }

func (b *builder) daily() error {
	cols := append([]column{
		{"Date", 12, kDate},
		{"Cost", 16, kMoney},
	}, countCols...)
	// A period in progress ends its list with today's partial row: a Note column says so,
	// so that nobody reads the day so far as a day's drop.
	inProgress := b.wb.Progress != ""
	if inProgress {
		cols = append(cols, column{"Note", 24, kText})
	}
	t, err := b.streamSheet(SheetDaily, cols)
	if err != nil {
		return err
	}
	var total Counts
	for _, d := range b.wb.Daily {
		// The date alone, in the report's zone: a whole-day serial groups cleanly in Excel's
		// date filters and charts.
		day := calendarDateOf(d.Day, b.wb.Location)
		vals := append([]any{day, d.Cost}, countVals(d.Counts)...)
		if inProgress {
			vals = append(vals, b.dayNote(d))
		}
		if err := t.add(vals...); err != nil {
			return err
		}
		total = total.plus(d.Counts)
	}
	totals := append([]any{"Total", total.Cost}, countVals(total)...)
	if inProgress {
		totals = append(totals, b.wb.Progress)
	}
	return t.finish(totals)
}

// dayNote is the Note of a Daily row of a period in progress: "so far (as of 14:05)" for the
// day holding AsOf, blank for a whole day.
func (b *builder) dayNote(d DailyRow) string {
	if !d.Partial {
		return ""
	}
	if b.wb.AsOf.IsZero() {
		return "so far"
	}
	return "so far (as of " + b.wb.AsOf.In(b.wb.Location).Format("15:04") + ")"
}

// streamSheet adds the sheet name with columns cols and starts streaming its rows.
func (b *builder) streamSheet(name string, cols []column) (*stream, error) {
	sh, err := newSheet(b.st, name, cols, b.wb.Location)
	if err != nil {
		return nil, err
	}
	return startStream(b.f, sh)
}

// chargeback writes the sheets by endpoint and by tag key (Workbook.Chargeback).
func (b *builder) chargeback() error {
	for _, c := range b.wb.Chargeback {
		if err := b.breakdown(c.Name, c.Column, c.Rows); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) breakdown(name, what string, rows []BreakdownRow) error {
	cols := []column{
		{what, 32, kText},
		{"Cost", 16, kMoney},
		{"Share of cost", 12, kPercent},
	}
	cols = append(cols, countCols...)
	cols = append(cols, column{"Latency p50 (ms)", 12, kMillis}, column{"Latency p95 (ms)", 12, kMillis}, column{"Latency p99 (ms)", 12, kMillis})
	t, err := b.streamSheet(name, cols)
	if err != nil {
		return err
	}
	// Shares are of this sheet's own total, so they add up to 100%.
	var total Counts
	for _, r := range rows {
		total = total.plus(r.Counts)
	}
	for _, r := range rows {
		label := r.Name
		if label == "" {
			label = "(none)"
		}
		var cost any = r.Cost
		if r.Requests > 0 && r.Unpriced == r.Requests {
			cost = "unpriced" // no event of the row has a price: its cost is unknown, not 0
		}
		vals := append([]any{label, cost, ratio(r.Cost, total.Cost)}, countVals(r.Counts)...)
		if r.Latency != nil {
			vals = append(vals, wholeMillis(r.Latency.P50), wholeMillis(r.Latency.P95), wholeMillis(r.Latency.P99))
		} else {
			vals = append(vals, nil, nil, nil)
		}
		if err := t.add(vals...); err != nil {
			return err
		}
	}
	vals := append([]any{"Total", total.Cost, ratio(total.Cost, total.Cost)}, countVals(total)...)
	return t.finish(append(vals, nil, nil, nil))
}
