package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

var seoul = mustZone("Asia/Seoul")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func priced(s string) decimal.NullDecimal { return decimal.NewNullDecimal(testkit.Dec(s)) }

// eventsOf adapts a slice to the Workbook.Events callback.
func eventsOf(evs []report.Event) func(func(report.Event) error) error {
	return func(emit func(report.Event) error) error {
		for _, e := range evs {
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// fixture is a small, complete workbook in KRW and Asia/Seoul.
func fixture() Workbook {
	ms := int64(1200)
	evs := []report.Event{
		{OccurredAt: time.Date(2025, 6, 1, 15, 30, 0, 0, time.UTC), EventID: "ev-1", Service: "chat", Model: "gpt-4o", Provider: "openai",
			InputTokens: 1000, OutputTokens: 200, CacheReadTokens: 300, Cost: priced("7.8"), CostSource: "local", DurationMS: &ms,
			Success: true, CacheHit: true, UserID: "u1", OrgID: "o1", Endpoint: "/v1/chat", Tags: `{"team":"qa"}`},
		{OccurredAt: time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC), EventID: "ev-2", Service: "search", Model: "claude", Provider: "anthropic",
			InputTokens: 50, Cost: decimal.NullDecimal{}, CostSource: "none", Success: false, Error: "rate limited"},
	}
	return Workbook{
		Currency:    "KRW",
		Location:    seoul,
		Period:      Period{Label: "2025-06", Start: time.Date(2025, 6, 1, 0, 0, 0, 0, seoul), End: time.Date(2025, 7, 1, 0, 0, 0, 0, seoul)},
		GeneratedAt: time.Date(2025, 7, 1, 0, 5, 0, 0, time.UTC),
		Summary: Summary{TotalCost: testkit.Dec("12345.678"), Requests: 10, Successes: 9, CacheHits: 4, Unpriced: 1, AvgCost: decimal.NewNullDecimal(testkit.Dec("1371.742")),
			Tokens: Tokens{Input: 1050, Output: 200, CacheRead: 300}, Latency: &Latency{P50: 800, P95: 1200.5, P99: 1500}},
		Daily: []DailyRow{
			{Day: time.Date(2025, 6, 1, 0, 0, 0, 0, seoul), Counts: Counts{Cost: testkit.Dec("12000"), Requests: 6}},
			// Any instant of the day will do: 2025-06-01 18:00 UTC is 2025-06-02 03:00 in Seoul.
			{Day: time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC), Counts: Counts{Cost: testkit.Dec("345.678"), Requests: 4}},
		},
		Services: []BreakdownRow{{Name: "chat", Counts: Counts{Cost: testkit.Dec("12000"), Requests: 6}, Latency: &Latency{P50: 700, P95: 1100, P99: 1400}}, {Name: "search", Counts: Counts{Cost: testkit.Dec("345.678"), Requests: 4}}},
		Models:   []BreakdownRow{{Name: "gpt-4o", Counts: Counts{Cost: testkit.Dec("12345.678"), Requests: 10}}},
		Users:    []BreakdownRow{{Name: "u1", Counts: Counts{Cost: testkit.Dec("12345.678"), Requests: 9}}, {Name: "", Counts: Counts{Requests: 1}}},
		Orgs:     []BreakdownRow{{Name: "o1", Counts: Counts{Cost: testkit.Dec("12345.678"), Requests: 10}}},
		Budgets:  []BudgetRow{{Name: "monthly-total", Period: "monthly 2025-06", Limit: testkit.Dec("15000"), Spent: testkit.Dec("12345.678"), Remaining: testkit.Dec("2654.322"), State: "warning"}},
		Alerts:   []AlertRow{{At: time.Date(2025, 6, 20, 3, 0, 0, 0, time.UTC), Budget: "monthly-total", Period: "monthly 2025-06", Threshold: 80, Severity: "WARNING", Kind: "actual", Status: "sent"}},
		Events:   eventsOf(evs),
	}
}

// render writes wb and returns the bytes.
func render(t *testing.T, wb Workbook, opt Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, wb, opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// open reads a workbook back with excelize.
func open(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// parts returns every file in the xlsx zip.
func parts(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("unzip: %v", err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatalf("open %s: %v", zf.Name, err)
		}
		data, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", zf.Name, err)
		}
		out[zf.Name] = string(data)
	}
	return out
}

type rels struct {
	Rel []struct {
		ID     string `xml:"Id,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

// sheetParts maps each sheet name to its worksheet part, following workbook.xml and its rels.
func sheetParts(t *testing.T, p map[string]string) (names []string, part map[string]string) {
	t.Helper()
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal([]byte(p["xl/workbook.xml"]), &wb); err != nil {
		t.Fatalf("parse workbook.xml: %v", err)
	}
	var r rels
	if err := xml.Unmarshal([]byte(p["xl/_rels/workbook.xml.rels"]), &r); err != nil {
		t.Fatalf("parse workbook rels: %v", err)
	}
	target := map[string]string{}
	for _, x := range r.Rel {
		target[x.ID] = x.Target
	}
	part = map[string]string{}
	for _, s := range wb.Sheets {
		names = append(names, s.Name)
		part[s.Name] = resolve("xl/workbook.xml", target[s.RID])
	}
	return names, part
}

// related returns the parts a part links to through its rels file.
func related(t *testing.T, p map[string]string, from string) []string {
	t.Helper()
	relPath := path.Join(path.Dir(from), "_rels", path.Base(from)+".rels")
	src, ok := p[relPath]
	if !ok {
		return nil
	}
	var r rels
	if err := xml.Unmarshal([]byte(src), &r); err != nil {
		t.Fatalf("parse %s: %v", relPath, err)
	}
	var out []string
	for _, x := range r.Rel {
		out = append(out, resolve(from, x.Target))
	}
	return out
}

func resolve(from, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(target, "/")
	}
	return path.Join(path.Dir(from), target)
}

// raw is a cell's stored value, unformatted.
func raw(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("read %s!%s: %v", sheet, ref, err)
	}
	return v
}

// number asserts the cell is numeric (no t attribute or t="n") and returns its value.
func number(t *testing.T, f *excelize.File, sheet, ref string) float64 {
	t.Helper()
	ct, err := f.GetCellType(sheet, ref)
	if err != nil {
		t.Fatalf("type of %s!%s: %v", sheet, ref, err)
	}
	if ct != excelize.CellTypeUnset && ct != excelize.CellTypeNumber {
		t.Fatalf("%s!%s has type %v, want a number cell", sheet, ref, ct)
	}
	s := raw(t, f, sheet, ref)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s!%s = %q, not a number: %v", sheet, ref, s, err)
	}
	return v
}

// str asserts the cell is a string cell (shared or inline, never a formula) and returns it.
func str(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	ct, err := f.GetCellType(sheet, ref)
	if err != nil {
		t.Fatalf("type of %s!%s: %v", sheet, ref, err)
	}
	if ct != excelize.CellTypeSharedString && ct != excelize.CellTypeInlineString {
		t.Fatalf("%s!%s has type %v, want a string cell", sheet, ref, ct)
	}
	if fm, _ := f.GetCellFormula(sheet, ref); fm != "" {
		t.Fatalf("%s!%s has formula %q", sheet, ref, fm)
	}
	return raw(t, f, sheet, ref)
}

// numFmt is the number format code of a cell's style.
func numFmt(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatalf("style of %s!%s: %v", sheet, ref, err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatalf("style %d: %v", id, err)
	}
	if st.CustomNumFmt != nil {
		return *st.CustomNumFmt
	}
	return fmt.Sprintf("builtin %d", st.NumFmt)
}

// dateIn reads a date cell as the wall clock it shows.
func dateIn(t *testing.T, f *excelize.File, sheet, ref string) time.Time {
	t.Helper()
	v := number(t, f, sheet, ref)
	tm, err := excelize.ExcelDateToTime(v, false)
	if err != nil {
		t.Fatalf("%s!%s = %v, not a date: %v", sheet, ref, v, err)
	}
	return tm.Round(time.Millisecond)
}

// wall is the wall clock of tm in loc, as a UTC time for comparison with dateIn.
func wall(tm time.Time, loc *time.Location) time.Time {
	l := tm.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// rowOf finds the row whose column A reads label.
func rowOf(t *testing.T, f *excelize.File, sheet, label string) int {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("rows of %s: %v", sheet, err)
	}
	for i, r := range rows {
		if len(r) > 0 && r[0] == label {
			return i + 1
		}
	}
	t.Fatalf("%s has no row labelled %q", sheet, label)
	return 0
}

// wellFormed parses s strictly, as Excel's XML reader would.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
