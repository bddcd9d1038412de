// Package format formats what people read, one rule for each kind: exact decimal amounts
// (currency symbol, thousands separators, the currency's minor units), counts with their nouns,
// and percents. Values stay decimal.Decimal until the very last step; nothing here uses
// floating point.
package format

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// currency facts for the codes we expect; anything else shows its code and 2 decimals.
var currencies = map[string]struct {
	symbol string
	minor  int32
}{
	"KRW": {"₩", 0}, "JPY": {"¥", 0}, "USD": {"$", 2}, "EUR": {"€", 2}, "GBP": {"£", 2},
	"CNY": {"CN¥", 2}, "INR": {"₹", 2}, "CAD": {"CA$", 2}, "AUD": {"A$", 2}, "CHF": {"CHF ", 2},
}

// MinorUnits is the number of decimals the currency is normally shown with.
func MinorUnits(currency string) int32 {
	if c, ok := currencies[strings.ToUpper(currency)]; ok {
		return c.minor
	}
	return 2
}

// Symbol is the prefix shown before an amount, e.g. "₩" or "USD ".
func Symbol(currency string) string {
	if c, ok := currencies[strings.ToUpper(currency)]; ok {
		return c.symbol
	}
	return strings.ToUpper(currency) + " "
}

// Format shows an amount in the currency's minor units, rounded half away from zero:
// Format(12345.6, "KRW") = "₩12,346"; Format(7.8, "USD") = "$7.80".
func Format(d decimal.Decimal, currency string) string {
	return format(d, currency, MinorUnits(currency))
}

// FormatFine shows two more decimals than usual, for small per-request amounts:
// FormatFine(7.8, "KRW") = "₩7.80".
func FormatFine(d decimal.Decimal, currency string) string {
	return format(d, currency, MinorUnits(currency)+2)
}

// Signed is a change of an amount as Format shows it, with its sign as SignedPercent writes it:
// "+₩1,200", "−$3.50". A change that rounds to zero in the shown units is "₩0", without a sign:
// "−₩0" states a fall that the figures beside it do not show (both round to the same amount);
// the percentage next to the change still says which way and how much it moved.
func Signed(d decimal.Decimal, currency string) string {
	return signed(d, currency, MinorUnits(currency))
}

// SignedFine is Signed with FormatFine's two more decimals: "−₩0.25".
func SignedFine(d decimal.Decimal, currency string) string {
	return signed(d, currency, MinorUnits(currency)+2)
}

func signed(d decimal.Decimal, currency string, places int32) string {
	return sign(d.Round(places)) + format(d.Abs(), currency, places)
}

func format(d decimal.Decimal, currency string, places int32) string {
	s := d.Abs().StringFixed(places)
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if d.Round(places).IsNegative() {
		b.WriteByte('-')
	}
	b.WriteString(Symbol(currency))
	b.WriteString(Group(intPart))
	b.WriteString(frac)
	return b.String()
}

// Group inserts thousands separators into a string of digits: "1234567" → "1,234,567".
func Group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Percent is the one percent format of every page, email and log line: one decimal, a space
// before the sign, truncated toward zero so that a figure never shows a threshold that was not
// reached ("79.96" is "79.9 %", never "80.0 %") nor a success rate of 100 % with failures.
func Percent(p decimal.Decimal) string {
	return p.Truncate(1).StringFixed(1) + " %"
}

// SignedPercent is a change in percent as Percent shows it, with the sign of p: "+12.2 %",
// "−40.7 %" (a minus sign, U+2212), "+0.0 %" for a rise under 0.1 %, "0.0 %" for zero. The page
// and the digest state every relative change with it (report.Change).
func SignedPercent(p decimal.Decimal) string {
	return sign(p) + Percent(p.Abs())
}

// Points is a difference of two rates in percentage points, truncated as Percent is and signed
// as SignedPercent: "+1.2 pp", "−0.4 pp".
func Points(d decimal.Decimal) string {
	return sign(d) + d.Abs().Truncate(1).StringFixed(1) + " pp"
}

func sign(d decimal.Decimal) string {
	switch d.Sign() {
	case 1:
		return "+"
	case -1:
		return "−"
	}
	return ""
}

// Counted is a count as Count shows it with its noun, which agrees with it (Noun):
// Counted(1, "event") = "1 event", Counted(1234, "event") = "1,234 events".
func Counted(n int64, noun string) string {
	return Count(n) + " " + Noun(n, noun)
}

// Entities sums up an envelope budget's entities (report.EntitySummary) in the words every
// output uses: "1,204 users spent · 3 at or over their envelope · the 10 nearest shown" (the last
// part only when fewer are shown than spent).
func Entities(count, exceeded, shown int, noun string) string {
	s := Counted(int64(count), noun) + " spent · " + Count(int64(exceeded)) + " at or over their envelope"
	if shown < count {
		s += " · the " + Count(int64(shown)) + " nearest shown"
	}
	return s
}

// Noun is the noun for n things: singular for one, else with an s (every noun the outputs
// count takes a regular plural): Noun(1, "model") = "model", Noun(0, "model") = "models".
func Noun(n int64, singular string) string {
	if n == 1 {
		return singular
	}
	return singular + "s"
}

// SignedCount is a change of a count with its sign as SignedPercent writes it: "+1,234", "−12",
// "0".
func SignedCount(n int64) string {
	return sign(decimal.NewFromInt(n)) + Count(max(n, -n))
}

// Count is an integer count with thousands separators: Count(-1234567) = "-1,234,567".
func Count(n int64) string {
	if n < 0 {
		return "-" + Group(strconv.FormatUint(uint64(-n), 10))
	}
	return Group(strconv.FormatInt(n, 10))
}
