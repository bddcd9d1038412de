package format

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in, cur, want, fine string
	}{
		{"7.80", "KRW", "₩8", "₩7.80"},
		{"12345.5", "KRW", "₩12,346", "₩12,345.50"},
		{"1234567.891", "USD", "$1,234,567.89", "$1,234,567.8910"},
		{"0", "USD", "$0.00", "$0.0000"},
		{"-1000", "EUR", "-€1,000.00", "-€1,000.0000"},
		{"-0.001", "USD", "$0.00", "-$0.0010"},
		{"999.999", "XYZ", "XYZ 1,000.00", "XYZ 999.9990"},
	} {
		d := decimal.RequireFromString(tc.in)
		if got := Format(d, tc.cur); got != tc.want {
			t.Errorf("Format(%s, %s) = %q, want %q", tc.in, tc.cur, got, tc.want)
		}
		if got := FormatFine(d, tc.cur); got != tc.fine {
			t.Errorf("FormatFine(%s, %s) = %q, want %q", tc.in, tc.cur, got, tc.fine)
		}
	}
}

func TestPercentAndCount(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"79.96", "79.9 %"}, {"80", "80.0 %"}, {"99.999", "99.9 %"}, {"100", "100.0 %"},
		{"0", "0.0 %"}, {"-4.05", "-4.0 %"}, {"1234.5", "1234.5 %"},
	} {
		if got := Percent(decimal.RequireFromString(tc.in)); got != tc.want {
			t.Errorf("Percent(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Changes: truncated like every percent (−40.75 is −40.7, never −40.8), signed with U+2212.
	for _, tc := range []struct{ in, pct, pp string }{
		{"-40.75", "−40.7 %", "−40.7 pp"}, {"12.29", "+12.2 %", "+12.2 pp"}, {"0.04", "+0.0 %", "+0.0 pp"},
		{"0", "0.0 %", "0.0 pp"}, {"-0.99", "−0.9 %", "−0.9 pp"},
	} {
		d := decimal.RequireFromString(tc.in)
		if got := SignedPercent(d); got != tc.pct {
			t.Errorf("SignedPercent(%s) = %q, want %q", tc.in, got, tc.pct)
		}
		if got := Points(d); got != tc.pp {
			t.Errorf("Points(%s) = %q, want %q", tc.in, got, tc.pp)
		}
	}
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-1234567, "-1,234,567"}} {
		if got := Count(tc.in); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Ensures a count's noun agrees with it: singular for one only.
func TestCounted(t *testing.T) {
	for n, want := range map[int64]string{0: "0 events", 1: "1 event", 2: "2 events", 1234: "1,234 events", -1: "-1 events"} {
		if got := Counted(n, "event"); got != want {
			t.Errorf("Counted(%d) = %q, want %q", n, got, want)
		}
	}
}

// Ensures a change is signed as the amount shows it: a change that rounds to zero has no sign
// ("₩0", never "−₩0"), and the minus is U+2212 as in SignedPercent.
func TestSigned(t *testing.T) {
	for _, tc := range []struct {
		in, cur, want, fine string
	}{
		{"-0.3", "KRW", "₩0", "−₩0.30"},
		{"0.4", "KRW", "₩0", "+₩0.40"},
		{"-0.5", "KRW", "−₩1", "−₩0.50"},
		{"1200", "KRW", "+₩1,200", "+₩1,200.00"},
		{"-3.5", "USD", "−$3.50", "−$3.5000"},
		{"-0.001", "USD", "$0.00", "−$0.0010"},
		{"-0.00001", "USD", "$0.00", "$0.0000"},
		{"0", "USD", "$0.00", "$0.0000"},
	} {
		d := decimal.RequireFromString(tc.in)
		if got := Signed(d, tc.cur); got != tc.want {
			t.Errorf("Signed(%s %s) = %q, want %q", tc.in, tc.cur, got, tc.want)
		}
		if got := SignedFine(d, tc.cur); got != tc.fine {
			t.Errorf("SignedFine(%s %s) = %q, want %q", tc.in, tc.cur, got, tc.fine)
		}
	}
	for n, want := range map[int64]string{0: "0", 12: "+12", -1234: "−1,234"} {
		if got := SignedCount(n); got != want {
			t.Errorf("SignedCount(%d) = %q, want %q", n, got, want)
		}
	}
}
