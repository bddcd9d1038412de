package sheet

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aispend/aispend/report"
)

// skippable is what a spreadsheet may pass over before it looks for a formula's first
// character: whitespace and invisible format characters. Written apart from formulaLike, as the
// property the rule must have.
func skippable(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }

// evaluable reports whether a field as a spreadsheet reads it could be taken for a formula:
// after skippable characters it starts with = + - @ or a control character (OWASP's list holds
// tab, CR and LF).
func evaluable(field string) bool {
	t := strings.TrimLeftFunc(field, skippable)
	if t == "" {
		return false
	}
	r := []rune(t)[0]
	return strings.ContainsRune("=+-@", r) || unicode.IsControl(r)
}

// checkInert asserts that field (text made inert from in, as some output holds it) is in, or in
// behind an apostrophe, and that without an apostrophe no spreadsheet would evaluate it.
func checkInert(t *testing.T, where, in, field string) {
	t.Helper()
	if field != in && field != "'"+in {
		t.Fatalf("%s: %q became %q: neither the text nor the text behind an apostrophe", where, in, field)
	}
	if !strings.HasPrefix(field, "'") && evaluable(field) {
		t.Fatalf("%s: %q is written as %q, which a spreadsheet could evaluate", where, in, field)
	}
}

// Ensures the inert-text rule leaves no field a spreadsheet could evaluate, in the workbook's
// cells and in the events CSV (written from events and from the values PostgreSQL prints, which
// must give the same file), and changes text only by a leading apostrophe (plus what each format
// cannot hold: broken UTF-8 becomes U+FFFD everywhere, the CSV drops CR, a cell replaces other
// control characters).
func FuzzInertText(f *testing.F) {
	for _, s := range []string{"=1+1", "\n=1", "\r\n@SUM(A1)", " =1", "\u3000+1", "\ufeff-1", "\x00=1",
		"plain", "a=1", "", "\t", "line1\nline2", "say \"hi\", ok", "bad\xff=", "\u0085=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid := strings.ToValidUTF8(s, "\uFFFD")
		checkInert(t, "inert", s, inert(s))

		if len([]rune(valid)) < maxCellChars/2 { // longer text is cut in a cell: checked elsewhere
			cell := text(s)
			checkInert(t, "cell", strings.Map(xmlSafe, valid), cell)
		}

		at := time.Date(2025, 6, 3, 4, 5, 6, 7000, seoul)
		var fromEvent, fromRaw bytes.Buffer
		c, err := NewEventsCSV(&fromEvent, seoul)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(report.Event{OccurredAt: at, EventID: s, Service: s, Model: s, Provider: s, CostSource: s,
			Error: s, UserID: s, OrgID: s, Endpoint: s, Tags: s}); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := NewEventsCSV(&fromRaw, seoul)
		if err != nil {
			t.Fatal(err)
		}
		b, zero := []byte(s), []byte("0")
		if err := r.WriteRaw(&report.RawEvent{OccurredAt: at, EventID: b, Service: b, Model: b, Provider: b,
			InputTokens: zero, OutputTokens: zero, CacheReadTokens: zero, CacheWriteTokens: zero, ReasoningTokens: zero,
			CostSource: b, Error: b, UserID: b, OrgID: b, Endpoint: b, Tags: b}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, fromEvent.Bytes())
		if raw := readCSV(t, fromRaw.Bytes()); !slices.EqualFunc(raw, rows, slices.Equal[[]string]) {
			t.Fatalf("%q: the row of the raw event %q differs from the event's %q", s, raw, rows)
		}
		// encoding/csv drops CR inside a field and reads a quoted CRLF as LF.
		in := strings.ReplaceAll(valid, "\r", "")
		for _, col := range []int{1, 2, 3, 4, 11, 14, 16, 17, 18, 19} {
			checkInert(t, "csv "+eventCols[col].header, in, rows[1][col])
		}
	})
}
