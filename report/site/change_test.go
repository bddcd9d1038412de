package site

import (
	"testing"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// Ensures a change that rounds to zero money shows as "₩0" with its percentage, never "−₩0":
// a spender that went from ₩0.92 to ₩0.70 fell 23.9 %, by less than the won the page shows.
func TestChangeRoundingToZeroHasNoSign(t *testing.T) {
	for _, tc := range []struct {
		cur, prev, want, dir string
	}{
		{"0.70", "0.92", "₩0 (−23.9 %)", "down"},
		{"0.92", "0.70", "₩0 (+31.4 %)", "up"},
		{"10", "12.4", "−₩2 (−19.3 %)", "down"},
		{"5", "5", "no change", "flat"},
	} {
		text, dir := fmtChange(testkit.Dec(tc.cur), Change{Known: true, Cost: testkit.Dec(tc.prev)}, "KRW", report.BasisFull)
		if text != tc.want || dir != tc.dir {
			t.Errorf("%s after %s: %q %s, want %q %s", tc.cur, tc.prev, text, dir, tc.want, tc.dir)
		}
	}
}
