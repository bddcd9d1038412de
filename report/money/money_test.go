package money

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
