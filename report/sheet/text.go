package sheet

import (
	"fmt"
	"strings"
	"unicode"
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
	// inert before xmlSafe: the apostrophe is decided on the text as the events CSV has it.
	return truncate(strings.Map(xmlSafe, inert(strings.ToValidUTF8(s, "\uFFFD"))))
}

// inert makes text that a spreadsheet could take for a formula (formulaLike) inert with a leading
// apostrophe, OWASP's advice for CSV injection; other text is returned as it is. The workbook's
// cells and the events CSV both use this rule (formulaLike), so the same text reads the same in
// both. Excel shows the apostrophe; finance strips it with MID(A2,2,32767) when the exact text is
// needed.
func inert(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

// formulaLike reports whether a spreadsheet might take s for a formula. OWASP's CSV-injection
// guidance lists the first characters = + - @, tab, CR and LF; a field that begins with a line
// break shows its second line first, and some spreadsheets trim leading spaces before they look
// for a formula. So: s is formula-like when its first character that is not whitespace or an
// invisible format character (zero-width space, byte-order mark) is = + - @ or a control
// character (tab, CR, LF, NUL and the other C0 and C1 controls).
func formulaLike(s string) bool {
	for _, r := range s {
		if formula, decided := formulaLead(r); decided {
			return formula
		}
	}
	return false
}

// formulaLikeBytes is formulaLike for bytes (ranging over string(b) copies nothing).
func formulaLikeBytes(b []byte) bool {
	for _, r := range string(b) {
		if formula, decided := formulaLead(r); decided {
			return formula
		}
	}
	return false
}

// formulaLead is formulaLike's verdict on a leading character r: undecided for whitespace and
// invisible characters, which a spreadsheet may skip.
func formulaLead(r rune) (formula, decided bool) {
	switch {
	case r == '=' || r == '+' || r == '-' || r == '@':
		return true, true
	case r < utf8.RuneSelf && r > ' ' && r != 0x7f: // the common case: printable ASCII
		return false, true
	case unicode.IsControl(r):
		return true, true
	case unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
		return false, false
	}
	return false, true
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
