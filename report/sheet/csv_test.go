package sheet

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// readCSV gunzips and parses an events CSV.
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = len(eventCols)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read csv: %v", err)
	}
	if err := zr.Close(); err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return rows
}

func writeCSV(t *testing.T, evs []report.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	c, err := NewEventsCSV(&buf, seoul)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := c.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Rows() != int64(len(evs)) {
		t.Errorf("Rows() = %d, want %d", c.Rows(), len(evs))
	}
	return buf.Bytes()
}

// Ensures the CSV has the Events sheet's header and one row per event with exact values: times
// in the report zone with their offset, costs as exact decimals (empty when unpriced), counts,
// booleans and an absent duration.
func TestEventsCSVValues(t *testing.T) {
	ms := int64(1200)
	evs := []report.Event{
		{OccurredAt: time.Date(2025, 6, 1, 15, 30, 0, 123456000, time.UTC), EventID: "ev-1", Service: "chat", Model: "gpt-4o", Provider: "openai",
			InputTokens: 1000, OutputTokens: 200, CacheReadTokens: 300, CacheWriteTokens: 7, ReasoningTokens: 9, Cost: priced("0.000000000001"),
			CostSource: "local", DurationMS: &ms, Success: true, CacheHit: true, UserID: "u1", OrgID: "o1", Endpoint: "/v1/chat", Tags: `{"team":"qa"}`},
		{OccurredAt: time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC), EventID: "ev-2", Service: "search", Model: "claude",
			InputTokens: 50, CostSource: "none", Error: "rate limited"},
		{OccurredAt: time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC), EventID: "ev-3", Cost: priced("123456789012345678.123456789012345678")},
	}
	rows := readCSV(t, writeCSV(t, evs))
	var header []string
	for _, c := range eventCols {
		header = append(header, c.header)
	}
	want := [][]string{
		header,
		{"2025-06-02T00:30:00.123456+09:00", "ev-1", "chat", "gpt-4o", "openai", "1000", "200", "300", "7", "9", "0.000000000001", "local", "1200", "true", "", "true", "u1", "o1", "/v1/chat", `{"team":"qa"}`},
		{"2025-06-02T10:00:00+09:00", "ev-2", "search", "claude", "", "50", "0", "0", "0", "0", "", "none", "", "false", "rate limited", "false", "", "", "", ""},
		{"2025-06-02T11:00:00+09:00", "ev-3", "", "", "", "0", "0", "0", "0", "0", "123456789012345678.123456789012345678", "", "", "false", "", "false", "", "", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

// Ensures text a spreadsheet could evaluate is inert in the CSV exactly as in the workbook (also
// after a leading line break, whitespace or invisible character), and that commas, quotes, line
// breaks and non-ASCII text round-trip unchanged.
func TestEventsCSVText(t *testing.T) {
	cases := map[string]string{
		`=HYPERLINK("http://evil","x")`: `'=HYPERLINK("http://evil","x")`,
		"+1":                            "'+1",
		"-2":                            "'-2",
		"@x":                            "'@x",
		"\t=1":                          "'\t=1",
		"\r=1":                          "'\r=1",
		"a,b":                           "a,b",
		`say "hi"`:                      `say "hi"`,
		"line1\nline2":                  "line1\nline2",
		"서울 ü 😀":                        "서울 ü 😀",
		" =1":                           "' =1",
		"\n=1":                          "'\n=1",
		"\r\n@x":                        "'\r\n@x",
		"\u3000=1":                      "'\u3000=1",
		"\ufeff+1":                      "'\ufeff+1",
		"\u00a0\u200b-1":                "'\u00a0\u200b-1",
		" a=1":                          " a=1",
		"user@example.com":              "user@example.com",
		"bad\xffutf8":                   "bad\uFFFDutf8",
	}
	var evs []report.Event
	var ins []string
	for in := range cases {
		ins = append(ins, in)
	}
	slices.Sort(ins)
	for i, in := range ins {
		evs = append(evs, report.Event{OccurredAt: time.Date(2025, 6, 3, 0, 0, i, 0, seoul), EventID: in, Service: in, Model: in,
			Provider: in, CostSource: in, Error: in, UserID: in, OrgID: in, Endpoint: in, Tags: in})
	}
	rows := readCSV(t, writeCSV(t, evs))
	for i, in := range ins {
		want := cases[in]
		if w := text(in); w != want {
			t.Errorf("the workbook stores %q as %q, the CSV as %q", in, w, want)
		}
		// encoding/csv drops a CR inside a field (with CRLF line ends); the apostrophe stays.
		want = strings.ReplaceAll(want, "\r", "")
		r := rows[i+1]
		for _, col := range []int{1, 2, 3, 4, 11, 14, 16, 17, 18, 19} {
			if r[col] != want {
				t.Errorf("%q in column %s: got %q, want %q", in, eventCols[col].header, r[col], want)
			}
		}
	}
}

// Ensures a write error reaches the caller and the file is not reported complete.
func TestEventsCSVWriteError(t *testing.T) {
	c, err := NewEventsCSV(failWriter{}, seoul)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 100_000 && werr == nil; i++ {
		werr = c.Write(report.Event{EventID: fmt.Sprintf("%d-0190a1b2-c3d4-7e5f-8a9b", i)})
	}
	if werr == nil && c.Close() == nil {
		t.Fatal("writing to a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

// Ensures the CSV's memory does not grow with the number of events: the heap is the same after
// 20,000 and after 200,000 rows, and the output reaches its writer in pieces of at most 64 KiB.
func TestEventsCSVMemoryStaysFlat(t *testing.T) {
	const first, last = 20_000, 200_000
	w := &countingWriter{}
	c, err := NewEventsCSV(w, seoul)
	if err != nil {
		t.Fatal(err)
	}
	ms := int64(900)
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, seoul)
	var heapFirst, heapLast uint64
	for i := range last {
		switch i {
		case first:
			heapFirst = heapBytes()
		case last - 1:
			heapLast = heapBytes()
		}
		err := c.Write(report.Event{OccurredAt: base.Add(time.Duration(i) * time.Second), EventID: fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i),
			Service: "QA_CHAT", Model: "claude-sonnet-4", InputTokens: int64(i), Cost: priced("12.3456"), DurationMS: &ms,
			UserID: fmt.Sprintf("user-%d", i%1000), Error: fmt.Sprintf("error %d, \"quoted\"", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("heap %.1f MB at row %d, %.1f MB at row %d; %d bytes in %d writes (max %d)",
		float64(heapFirst)/(1<<20), first, float64(heapLast)/(1<<20), last, w.n, w.writes, w.maxWrite)
	if grow := int64(heapLast) - int64(heapFirst); grow > 1<<20 {
		t.Errorf("heap grew by %.1f MB between rows %d and %d", float64(grow)/(1<<20), first, last)
	}
	if w.maxWrite > 64<<10 || w.writes < 10 {
		t.Errorf("%d bytes reached the writer in %d writes of up to %d bytes; want it streamed", w.n, w.writes, w.maxWrite)
	}
}

// BenchmarkEventsCSV writes 1M synthetic events (like the demo's) and reports rows/s.
func BenchmarkEventsCSV(b *testing.B) {
	const n = 1_000_000
	ms := int64(900)
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	costs := []decimal.NullDecimal{priced("12.3456"), priced("0.000123456789"), priced("7.8"), {}}
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
	}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i*7919)
	}
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		cw := &countingWriter{}
		c, err := NewEventsCSV(cw, seoul)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			err := c.Write(report.Event{
				OccurredAt: base.Add(time.Duration(i) * 2591 * time.Millisecond), EventID: ids[i%len(ids)],
				Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic", InputTokens: int64(1000 + i%5000),
				OutputTokens: int64(i % 700), CacheReadTokens: int64(i % 800), Cost: costs[i%len(costs)], CostSource: "local",
				DurationMS: &ms, Success: i%50 != 0, CacheHit: i%10 == 0, UserID: users[i%len(users)], OrgID: "org-7",
				Endpoint: "/v1/messages", Tags: `{"team":"search"}`,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		size = int64(cw.n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size)/n, "gz-bytes/row")
}

// Ensures a workbook whose events are only in the CSV has an Events sheet of one row that names
// and links the CSV, never reads the events, and that the Summary sheet links the CSV and lists
// no event rows; and that a workbook listing its events links the CSV from the Summary too.
func TestWorkbookLinksEventsCSV(t *testing.T) {
	const name = "aispend-monthly-2025-06-events.csv.gz"
	wb := fixture()
	wb.EventsCSV = name
	wb.EventsOmitted = "This period has 300,000 events, more than the 200,000 a workbook lists."
	wb.Events = func(func(report.Event) error) error {
		t.Error("Events called for a workbook that omits them")
		return nil
	}
	f := open(t, render(t, wb, Options{}))
	rows, err := f.GetRows(SheetEvents)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0]) != 1 || !strings.Contains(rows[0][0], name) || !strings.HasPrefix(rows[0][0], wb.EventsOmitted) {
		t.Errorf("Events sheet %q; want one row naming %s", rows, name)
	}
	if ok, target, err := f.GetCellHyperLink(SheetEvents, "A1"); err != nil || !ok || target != name {
		t.Errorf("Events!A1 links %v %q (%v); want %s", ok, target, err, name)
	}
	checkSummaryLink := func(f *excelize.File, listed string) {
		t.Helper()
		r := rowOf(t, f, SheetSummary, csvLabel)
		ref := fmt.Sprintf("B%d", r)
		if got := str(t, f, SheetSummary, ref); got != name {
			t.Errorf("Summary %s = %q, want %s", ref, got, name)
		}
		if ok, target, err := f.GetCellHyperLink(SheetSummary, ref); err != nil || !ok || target != name {
			t.Errorf("Summary %s links %v %q (%v); want %s", ref, ok, target, err, name)
		}
		if got := raw(t, f, SheetSummary, fmt.Sprintf("B%d", rowOf(t, f, SheetSummary, "Event rows listed"))); got != listed {
			t.Errorf("Event rows listed = %s, want %s", got, listed)
		}
	}
	checkSummaryLink(f, "0")

	wb = fixture()
	wb.EventsCSV = name
	f = open(t, render(t, wb, Options{}))
	checkSummaryLink(f, "2")
	if got := str(t, f, SheetEvents, "B3"); got != "ev-2" {
		t.Errorf("Events!B3 = %q, want the second event", got)
	}

	// Without an events export the note stands alone.
	wb.EventsCSV, wb.EventsOmitted = "", "This workbook lists no events. The events export is turned off."
	f = open(t, render(t, wb, Options{}))
	if got := str(t, f, SheetEvents, "A1"); got != wb.EventsOmitted {
		t.Errorf("Events!A1 = %q, want the note alone", got)
	}
	wb.EventsCSV = "../x.csv.gz"
	if err := Write(io.Discard, wb, Options{}); err == nil {
		t.Error("a path as EventsCSV accepted")
	}
}
