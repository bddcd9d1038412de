package xlsx

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxCellChars is Excel's limit on the length of a cell's text, in UTF-16 code units.
// excelize cuts longer text silently; we cut it ourselves and say so in the cell.
const maxCellChars = 32767

// text makes untrusted text safe to store in a string cell:
//
//   - characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF, broken UTF-8) become
//     U+FFFD, so the file never becomes unreadable;
//   - text that a spreadsheet could take for a formula is made inert (inert). The cell is a
//     string cell anyway, so nothing is evaluated on open; the apostrophe also protects the
//     value when someone edits the cell or saves the sheet as CSV;
//   - text longer than Excel's cell limit is cut, ending with a marker that gives the full length.
func text(s string) string {
	return truncate(inert(strings.Map(xmlSafe, strings.ToValidUTF8(s, "\uFFFD"))))
}

// inert makes text that a spreadsheet could take for a formula (it starts with = + - @, tab or
// CR) inert with a leading apostrophe, OWASP's advice for CSV injection; other text is returned
// as it is. The workbook's cells and the events CSV both use it, so the same text reads the same
// in both. Excel shows the apostrophe; finance strips it with MID(A2,2,32767) when the exact text
// is needed.
func inert(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

// formulaLike reports whether a spreadsheet might parse s as a formula.
func formulaLike(s string) bool { return s != "" && formulaLikeByte(s[0]) }

// formulaLikeByte reports whether text starting with b might be parsed as a formula.
func formulaLikeByte(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// xmlSafe maps characters outside XML 1.0's Char production to U+FFFD.
func xmlSafe(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return r
	case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
		return '\uFFFD'
	}
	return r
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate cuts s so that it fits a cell, appending a marker that tells the reader the text is
// incomplete and how long it was.
func truncate(s string) string {
	total := utf16Len(s)
	if total <= maxCellChars {
		return s
	}
	marker := fmt.Sprintf(" …[truncated: %d of %d characters shown]", 0, total)
	keep := maxCellChars - utf16Len(marker) - 4 // room for the shown count growing a few digits
	n, cut := 0, 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > keep {
			cut = i
			break
		}
		n += w
		cut = i + utf8.RuneLen(r)
	}
	return s[:cut] + fmt.Sprintf(" …[truncated: %d of %d characters shown]", n, total)
}
