package sheet

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// kind says how a column's values are shown.
type kind int

const (
	kText kind = iota
	kInt
	kMoney     // totals and aggregates, the currency's usual decimals
	kMoneyFine // per-event and per-request amounts, two more decimals
	kPercent   // value is a fraction: 0.25 shows 25.00%
	kMillis
	kRate // an exchange rate, every configured decimal
	kDate
	kDateTime
	kBool
)

type column struct {
	header string
	width  float64
	kind   kind
}

func (s *styles) format(k kind) string {
	switch k {
	case kInt:
		return fmtInt
	case kMoney:
		return s.money()
	case kMoneyFine:
		return s.moneyFine()
	case kPercent:
		return fmtPercent
	case kMillis:
		return fmtMillis
	case kRate:
		return fmtRate
	case kDate:
		return fmtDate
	case kDateTime:
		return fmtDateTime
	}
	return ""
}

// calendarDate is a date cell with no time of day.
type calendarDate struct {
	y int
	m time.Month
	d int
}

// calendarDateOf is the calendar date of t in loc.
func calendarDateOf(t time.Time, loc *time.Location) calendarDate {
	y, m, d := t.In(loc).Date()
	return calendarDate{y, m, d}
}

// value turns a view value into what excelize should store: text made safe, decimals to
// float64 (the only place money leaves decimal), times converted to the report's zone first,
// because excelize writes a time's wall clock as it is.
func value(v any, loc *time.Location) any {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil // a blank cell, not an empty string: smaller, and filters show (Blanks)
		}
		return text(v)
	case decimal.Decimal:
		return cellNumber(v)
	case decimal.NullDecimal:
		if !v.Valid {
			return nil
		}
		return cellNumber(v.Decimal)
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return v.In(loc)
	case calendarDate:
		// The date's wall-clock midnight: a whole-day serial, even on a day whose first
		// instant in the report's zone is not midnight.
		return time.Date(v.y, v.m, v.d, 0, 0, 0, 0, time.UTC)
	case *int64:
		if v == nil {
			return nil
		}
		return *v
	case *float64:
		if v == nil {
			return nil
		}
		return *v
	}
	return v
}

// excelDigits is the number of significant digits Excel keeps in a number.
const excelDigits = 15

// cellNumber converts an exact amount to a cell's float64, rounded half away from zero to the 15
// significant digits Excel keeps. excelize would otherwise cut the 16th and later digits off
// (truncating 100008.4000000999 to 100008.400000099); rounding here, in decimal, makes the
// stored digits the correctly rounded amount. Amounts below 10^12 with three decimals are exact.
func cellNumber(d decimal.Decimal) float64 {
	if d.IsZero() {
		return 0
	}
	intDigits := int32(d.NumDigits()) + d.Exponent()
	return d.Round(excelDigits - intDigits).InexactFloat64()
}

// sheet knows the columns of one table and the style of each column's cells.
type sheet struct {
	name   string
	cols   []column
	loc    *time.Location
	head   int   // header style
	cell   []int // per column, plain
	strong []int // per column, bold (totals rows)
}

func newSheet(st *styles, name string, cols []column, loc *time.Location) (*sheet, error) {
	s := &sheet{name: name, cols: cols, loc: loc}
	var err error
	if s.head, err = st.get("", header); err != nil {
		return nil, err
	}
	for _, c := range cols {
		p, err := st.get(st.format(c.kind), plain)
		if err != nil {
			return nil, err
		}
		b, err := st.get(st.format(c.kind), bold)
		if err != nil {
			return nil, err
		}
		s.cell, s.strong = append(s.cell, p), append(s.strong, b)
	}
	return s, nil
}

func (s *sheet) headerCells() []any {
	out := make([]any, len(s.cols))
	for i, c := range s.cols {
		out[i] = excelize.Cell{StyleID: s.head, Value: text(c.header)}
	}
	return out
}

func (s *sheet) cells(vals []any, strong bool) ([]any, error) {
	if len(vals) != len(s.cols) {
		return nil, fmt.Errorf("sheet %q: %d values for %d columns", s.name, len(vals), len(s.cols))
	}
	ids := s.cell
	if strong {
		ids = s.strong
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = excelize.Cell{StyleID: ids[i], Value: value(v, s.loc)}
	}
	return out, nil
}

func (s *sheet) lastCol() string {
	name, _ := excelize.ColumnNumberToName(len(s.cols))
	return name
}

// stream writes one table sheet with excelize's StreamWriter: header frozen, column widths,
// an autoFilter over header and data, and an optional totals row below a blank row (outside
// the filter, so sorting never moves it).
type stream struct {
	*sheet
	f    *excelize.File
	sw   *excelize.StreamWriter
	rows int // data rows written
}

// startStream creates the sheet (appended after the existing ones) and writes its header.
// Widths and panes must be set before the first row: StreamWriter rejects them later.
func startStream(f *excelize.File, s *sheet) (*stream, error) {
	if _, err := f.NewSheet(s.name); err != nil {
		return nil, fmt.Errorf("add sheet %q: %w", s.name, err)
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return nil, fmt.Errorf("stream sheet %q: %w", s.name, err)
	}
	// Backwards: excelize puts each new <col> first, and Excel wants them in ascending order.
	for i := len(s.cols) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, s.cols[i].width); err != nil {
			return nil, fmt.Errorf("set width on %q: %w", s.name, err)
		}
	}
	if err := sw.SetPanes(frozenHeader()); err != nil {
		return nil, fmt.Errorf("freeze header on %q: %w", s.name, err)
	}
	if err := sw.SetRow("A1", s.headerCells(), excelize.RowOpts{Height: 30}); err != nil {
		return nil, fmt.Errorf("write header on %q: %w", s.name, err)
	}
	return &stream{sheet: s, f: f, sw: sw}, nil
}

func frozenHeader() *excelize.Panes {
	return &excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}
}

func (t *stream) add(vals ...any) error {
	cells, err := t.cells(vals, false)
	if err != nil {
		return err
	}
	ref, _ := excelize.CoordinatesToCellName(1, t.rows+2)
	if err := t.sw.SetRow(ref, cells); err != nil {
		return fmt.Errorf("write row %d on %q: %w", t.rows+2, t.name, err)
	}
	t.rows++
	return nil
}

// finish writes the totals row (when given), the autoFilter and flushes the sheet.
//
// The autoFilter is set after the rows and before Flush, when the row count is known: Flush
// writes the worksheet's <autoFilter> element after <sheetData>. Set after Flush it would only
// add the _xlnm._FilterDatabase defined name and no <autoFilter>, so no filter (excelize
// v2.11.1, found by test); the tests check the XML.
func (t *stream) finish(totals []any) error {
	if totals != nil {
		cells, err := t.cells(totals, true)
		if err != nil {
			return err
		}
		ref, _ := excelize.CoordinatesToCellName(1, t.rows+3)
		if err := t.sw.SetRow(ref, cells); err != nil {
			return fmt.Errorf("write totals on %q: %w", t.name, err)
		}
	}
	filter := fmt.Sprintf("A1:%s%d", t.lastCol(), t.rows+1)
	if err := t.f.AutoFilter(t.name, filter, nil); err != nil {
		return fmt.Errorf("add filter on %q: %w", t.name, err)
	}
	if err := t.sw.Flush(); err != nil {
		return fmt.Errorf("flush sheet %q: %w", t.name, err)
	}
	return nil
}
