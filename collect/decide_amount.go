package collect

import (
	"math"
	"math/bits"

	"github.com/shopspring/decimal"
)

// amount is an exact decimal, units × 10^exp, whose coefficient fits 64 bits: what the Decider
// counts per entity without a *big.Int. A decimal.Decimal points to a big.Int that points to its
// words, so 100,000 entities' spends are 200,000 objects that every collection marks, and every
// Add makes two more; an amount has no pointer, so a slice of them is never scanned, and its
// arithmetic allocates nothing.
//
// Every operation gives the units and exponent that the same operation of shopspring/decimal
// gives (not just an equal value), so amounts and decimals mix without drifting apart. An
// operation whose result, or a step to it, does not fit 64 bits reports ok false and never a
// wrong number: the caller keeps that entity's figures as decimals (FuzzAmount checks both).
type amount struct {
	units int64 // never math.MinInt64, so that every amount's negation and magnitude fit too
	exp   int32
}

// pow10u is 10^0 … 10^19, every power of ten a uint64 holds.
var pow10u = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// amountOf is d as an amount; false when d's coefficient does not fit.
func amountOf(d decimal.Decimal) (amount, bool) {
	// Not Coefficient (it copies the big.Int), and the big.Int's IsInt64 is out of reach (the
	// field is unexported): NumDigits reads an
	// int64 coefficient without allocating, and up to 19 digits the magnitude fits a uint64, so
	// CoefficientInt64 is exact but for its sign, which wraps past math.MaxInt64.
	if d.NumDigits() > 19 {
		return amount{}, false
	}
	u := d.CoefficientInt64()
	if sign(u) != d.Sign() || u == math.MinInt64 {
		return amount{}, false
	}
	return amount{units: u, exp: d.Exponent()}, true
}

// toDecimal is a as a decimal.Decimal, with the same units and exponent. It allocates.
func (a amount) toDecimal() decimal.Decimal { return decimal.New(a.units, a.exp) }

// sign is −1, 0 or 1 as a is negative, zero or positive.
func (a amount) sign() int { return sign(a.units) }

// cmp compares a and b by value, as decimal's Cmp: −1, 0 or 1. It never overflows: magnitudes
// are compared in 128 bits, and past 19 digits of difference in exponent not at all.
func (a amount) cmp(b amount) int {
	sa, sb := sign(a.units), sign(b.units)
	switch {
	case sa != sb:
		return cmpInt(sa, sb)
	case sa == 0:
		return 0
	case a.exp == b.exp:
		return cmpInt(a.units, b.units)
	}
	c := cmpScaled(abs(a.units), a.exp, abs(b.units), b.exp)
	return c * sa
}

// cmpScaled compares x × 10^ex and y × 10^ey, x and y not 0.
func cmpScaled(x uint64, ex int32, y uint64, ey int32) int {
	if ex < ey {
		return -cmpScaled(y, ey, x, ex)
	}
	d := int64(ex) - int64(ey)
	if d >= int64(len(pow10u)) {
		return 1 // x × 10^d ≥ 10^20 > y
	}
	hi, lo := bits.Mul64(x, pow10u[d])
	if hi != 0 {
		return 1
	}
	return cmpInt(lo, y)
}

// add is a + b, as decimal's Add: at the smaller exponent of the two.
func (a amount) add(b amount) (amount, bool) {
	e := min(a.exp, b.exp)
	x, ok1 := scale(a.units, int64(a.exp)-int64(e))
	y, ok2 := scale(b.units, int64(b.exp)-int64(e))
	s, ok3 := addInt(x, y)
	if !ok1 || !ok2 || !ok3 {
		return amount{}, false
	}
	return amount{units: s, exp: e}, true
}

// sub is a − b, as decimal's Sub.
func (a amount) sub(b amount) (amount, bool) {
	if b.units == math.MinInt64 {
		return amount{}, false // only an amount made by hand: its negation does not fit
	}
	return a.add(amount{units: -b.units, exp: b.exp})
}

// amountLine is report.Line over amounts: the spend at which threshold percent of limit is
// reached, limit × threshold at limit's exponent − 2.
func amountLine(limit amount, threshold int) (amount, bool) {
	e := int64(limit.exp) - 2
	if e < math.MinInt32 {
		return amount{}, false // decimal's Mul panics: the exponent overflows an int32
	}
	u, ok := mulInt(limit.units, int64(threshold))
	return amount{units: u, exp: int32(e)}, ok
}

// amountShare is report.Share over amounts: the percent of limit that spent uses, truncated to
// two decimals as report.PercentOf, and what remains of limit (never negative); a limit of 0 or
// less is 100 % used by any spend.
func amountShare(spent, limit amount) (percent, remaining amount, ok bool) {
	if limit.units <= 0 {
		if spent.units > 0 {
			return amount{units: 100}, amount{}, true
		}
		return amount{}, amount{}, true
	}
	percent, ok1 := percentOf(spent, limit)
	remaining, ok2 := limit.sub(spent)
	if remaining.units < 0 {
		remaining = amount{} // decimal.Max(…, decimal.Zero) keeps a zero difference's exponent
	}
	return percent, remaining, ok1 && ok2
}

// percentOf is report.PercentOf: part × 100 ÷ whole, truncated toward zero to two decimals, as
// decimal's QuoRem(whole, 2) of part.Mul(100) computes it; 0 of a whole of 0.
func percentOf(part, whole amount) (amount, bool) {
	if whole.units == 0 {
		return amount{}, true
	}
	// QuoRem divides part × 100 × 10^e by whole, or part × 100 by whole × 10^−e when e is
	// negative, both as integers, for a quotient at exponent −2.
	e := int64(part.exp) - int64(whole.exp) + 2
	if e > math.MaxInt32 || e < math.MinInt32 {
		return amount{}, false // decimal's QuoRem panics
	}
	if part.units == 0 {
		return amount{exp: -2}, true
	}
	num, den, scaled := abs(part.units), abs(whole.units), uint64(100)
	if e >= 0 {
		if e+2 >= int64(len(pow10u)) {
			return amount{}, false
		}
		scaled = pow10u[e+2]
	} else {
		if -e >= int64(len(pow10u)) {
			return amount{}, false
		}
		hi, lo := bits.Mul64(den, pow10u[-e])
		if hi != 0 {
			return amount{}, false
		}
		den = lo
	}
	hi, lo := bits.Mul64(num, scaled)
	if hi >= den {
		return amount{}, false // a quotient past 64 bits (bits.Div64 would panic)
	}
	q, _ := bits.Div64(hi, lo, den)
	if q > math.MaxInt64 {
		return amount{}, false
	}
	if (part.units < 0) != (whole.units < 0) {
		return amount{units: -int64(q), exp: -2}, true
	}
	return amount{units: int64(q), exp: -2}, true
}

// appendText appends a's text as decimal's String writes it: a plain number, no exponent, with
// no trailing zero after a decimal point (1.50 is "1.5", 1.00 is "1") and all of them before
// one (5 × 10^3 is "5000"). So the text depends on the value alone, not on the exponent.
func (a amount) appendText(dst []byte) []byte {
	if !decimal.TrimTrailingZeros || decimal.UseScientificNotation {
		return append(dst, a.toDecimal().String()...) // a process that changed decimal's format
	}
	var buf [20]byte
	digits := formatUint(&buf, abs(a.units))
	if a.units < 0 {
		dst = append(dst, '-')
	}
	switch {
	case a.exp == 0 || a.units == 0:
		return append(dst, digits...)
	case a.exp > 0:
		return appendZeros(append(dst, digits...), int64(a.exp))
	}
	fraction, lead := -int64(a.exp), int64(0) // digits after the point, at least 1
	if n := int64(len(digits)); n > fraction {
		dst, digits = append(dst, digits[:n-fraction]...), digits[n-fraction:]
	} else {
		dst, lead = append(dst, '0'), fraction-n
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return dst
	}
	return append(appendZeros(append(dst, '.'), lead), digits...)
}

// text is a's decimal text, as decimal.Decimal's String writes it.
func (a amount) text() string {
	var buf [48]byte
	return string(a.appendText(buf[:0]))
}

// formatUint writes u's decimal digits at the end of buf and returns them (strconv's Append
// would move buf to the heap).
func formatUint(buf *[20]byte, u uint64) []byte {
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + u%10)
		if u /= 10; u == 0 {
			return buf[i:]
		}
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

func appendZeros(dst []byte, n int64) []byte {
	for ; n > int64(len(zeros64)); n -= int64(len(zeros64)) {
		dst = append(dst, zeros64...)
	}
	return append(dst, zeros64[:n]...)
}

// scale is u × 10^n, n ≥ 0; false when that does not fit an amount's units.
func scale(u int64, n int64) (int64, bool) {
	if u == 0 || n == 0 {
		return u, true
	}
	if n > 18 {
		return 0, false // 10^19 and up do not fit an int64
	}
	return mulInt(u, int64(pow10u[n]))
}

// mulInt is x × y; false when that does not fit an amount's units.
func mulInt(x, y int64) (int64, bool) {
	hi, lo := bits.Mul64(abs(x), abs(y))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if (x < 0) != (y < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

// addInt is x + y; false when that does not fit an amount's units.
func addInt(x, y int64) (int64, bool) {
	s := x + y
	if (x^s)&(y^s) < 0 || s == math.MinInt64 {
		return 0, false
	}
	return s, true
}

func abs(x int64) uint64 {
	if x < 0 {
		return uint64(-x) // math.MinInt64 wraps to 1 << 63, its magnitude
	}
	return uint64(x)
}

func sign(x int64) int {
	return cmpInt(x, 0)
}

func cmpInt[T int | int64 | uint64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
