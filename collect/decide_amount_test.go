package collect

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

func amt(units int64, exp int32) amount { return amount{units: units, exp: exp} }

// Ensures amountOf takes exactly the decimals whose coefficient fits 64 bits (but the most
// negative one), whatever the number of digits, and toDecimal gives them back unchanged.
func TestAmountOf(t *testing.T) {
	two63 := new(big.Int).Lsh(big.NewInt(1), 63)
	ten19 := new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil)
	for _, tc := range []struct {
		name   string
		coeff  *big.Int
		exp    int32
		wantOK bool
	}{
		{"zero", big.NewInt(0), 0, true},
		{"cents", big.NewInt(1250), -2, true},
		{"negative", big.NewInt(-7), -9, true},
		{"18 digits", big.NewInt(999_999_999_999_999_999), -12, true},
		{"19 digits, the largest int64", big.NewInt(math.MaxInt64), 3, true},
		{"the largest int64 negated", big.NewInt(-math.MaxInt64), 3, true},
		{"the most negative int64", big.NewInt(math.MinInt64), 0, false},
		{"2^63", two63, 0, false},
		{"19 digits past int64", new(big.Int).Sub(ten19, big.NewInt(1)), -5, false},
		{"minus 19 digits past int64", new(big.Int).Neg(new(big.Int).Sub(ten19, big.NewInt(1))), -5, false},
		{"20 digits", ten19, 0, false},
		{"2^64 + 5, whose low word fits", new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(5)), 0, false},
		{"extreme exponents", big.NewInt(42), math.MinInt32, true},
		{"extreme exponents, the largest", big.NewInt(-42), math.MaxInt32, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decimal.NewFromBigInt(tc.coeff, tc.exp)
			got, ok := amountOf(d)
			if ok != tc.wantOK {
				t.Fatalf("amountOf(%s) ok = %v, want %v", tc.coeff, ok, tc.wantOK)
			}
			if ok && !sameDecimal(got.toDecimal(), d) {
				t.Errorf("amountOf(%s e%d) = %+v", tc.coeff, tc.exp, got)
			}
		})
	}
	if got, ok := amountOf(decimal.Decimal{}); !ok || got != (amount{}) {
		t.Errorf("amountOf(decimal.Zero) = %+v, %v", got, ok)
	}
}

// Ensures an amount's text is decimal's String: no exponent, the zeros of a positive exponent
// written out, trailing zeros after the point dropped (and the point with them), leading ones
// kept.
func TestAmountText(t *testing.T) {
	for _, tc := range []struct {
		a    amount
		want string
	}{
		{amt(0, 0), "0"},
		{amt(0, -5), "0"},
		{amt(0, 5), "0"},
		{amt(42, 0), "42"},
		{amt(-42, 0), "-42"},
		{amt(5, 3), "5000"},
		{amt(-5, 3), "-5000"},
		{amt(150, -2), "1.5"},
		{amt(100, -2), "1"},
		{amt(-100, -2), "-1"},
		{amt(1050, -2), "10.5"},
		{amt(5, -1), "0.5"},
		{amt(-5, -1), "-0.5"},
		{amt(5, -3), "0.005"},
		{amt(1200, -5), "0.012"},
		{amt(-1200, -5), "-0.012"},
		{amt(math.MaxInt64, -19), "0.9223372036854775807"},
		{amt(-math.MaxInt64, -18), "-9.223372036854775807"},
		{amt(math.MaxInt64, -25), "0.0000009223372036854775807"},
		{amt(123, -70), "0." + zeros(67) + "123"},
		{amt(7, 70), "7" + zeros(70)},
		{amt(math.MaxInt64, 1), "92233720368547758070"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := string(tc.a.appendText(nil)); got != tc.want {
				t.Errorf("%+v: %q, want %q", tc.a, got, tc.want)
			}
			if got := string(tc.a.appendText([]byte(`"`))); got != `"`+tc.want {
				t.Errorf("%+v appended: %q", tc.a, got)
			}
			if d := tc.a.toDecimal().String(); d != tc.want {
				t.Errorf("%+v: decimal writes %q", tc.a, d)
			}
		})
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// Ensures the arithmetic of the Decider's figures over amounts gives decimal's units and
// exponent, or not ok where 64 bits do not hold them.
func TestAmountArithmetic(t *testing.T) {
	type result = amountResult
	ok := func(a amount) result { return result{a, true} }
	overflow := result{}
	for _, tc := range []struct {
		name string
		got  func() result
		want result
	}{
		{"add at one exponent", func() result { return res(amt(150, -2).add(amt(225, -2))) }, ok(amt(375, -2))},
		{"add at the smaller exponent", func() result { return res(amt(15, -1).add(amt(225, -2))) }, ok(amt(375, -2))},
		{"add a zero of a larger exponent", func() result { return res(amt(7, -9).add(amt(0, 4))) }, ok(amt(7, -9))},
		{"add a zero of a much smaller exponent", func() result { return res(amt(1, 0).add(amt(0, -30))) }, overflow},
		{"add past 64 bits", func() result { return res(amt(math.MaxInt64, 0).add(amt(1, 0))) }, overflow},
		{"add to the most negative int64", func() result { return res(amt(-math.MaxInt64, 0).add(amt(-1, 0))) }, overflow},
		{"add a rescale that fits", func() result { return res(amt(9, 18).add(amt(1, 0))) }, ok(amt(9_000_000_000_000_000_001, 0))},
		{"add a rescale that does not", func() result { return res(amt(10, 18).add(amt(1, 0))) }, overflow},
		{"add a rescale by 19 digits", func() result { return res(amt(1, 19).add(amt(1, 0))) }, overflow},
		{"sub", func() result { return res(amt(1, 0).sub(amt(25, -2))) }, ok(amt(75, -2))},
		{"sub to zero keeps the exponent", func() result { return res(amt(1, 0).sub(amt(100, -2))) }, ok(amt(0, -2))},
		{"sub below zero", func() result { return res(amt(-math.MaxInt64, 0).sub(amt(1, 0))) }, overflow},
		{"sub an amount made by hand", func() result { return res(amt(0, 0).sub(amt(math.MinInt64, 0))) }, overflow},
		{"percent of 0", func() result { return res(percentOf(amt(5, 0), amt(0, 3))) }, ok(amt(0, 0))},
		{"percent of a negative whole", func() result { return res(percentOf(amt(1, 0), amt(-3, 0))) }, ok(amt(-3333, -2))},
		{"line", func() result { return res(amountLine(amt(100, 0), 80)) }, ok(amt(8000, -2))},
		{"line of cents", func() result { return res(amountLine(amt(1999, -2), 90)) }, ok(amt(179910, -4))},
		{"line of 0 %", func() result { return res(amountLine(amt(5, 1), 0)) }, ok(amt(0, -1))},
		{"line past 64 bits", func() result { return res(amountLine(amt(math.MaxInt64, 0), 2)) }, overflow},
		{"line of a negative threshold", func() result { return res(amountLine(amt(3, 0), math.MinInt64)) }, overflow},
		{"line of the smallest exponent", func() result { return res(amountLine(amt(5, math.MinInt32), 80)) }, overflow},
		{"line of nearly the smallest exponent", func() result { return res(amountLine(amt(5, math.MinInt32+2), 80)) }, ok(amt(400, math.MinInt32))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.got()
			if got.ok != tc.want.ok || got.ok && got.a != tc.want.a {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		a, b amount
		want int
	}{
		{amt(15, -1), amt(150, -2), 0},
		{amt(0, 5), amt(0, -5), 0},
		{amt(-1, 0), amt(0, 0), -1},
		{amt(1, 20), amt(math.MaxInt64, 0), 1},
		{amt(-1, 20), amt(-math.MaxInt64, 0), -1},
		{amt(1, 19), amt(math.MaxInt64, 0), 1},
		{amt(10, 18), amt(math.MaxInt64, 0), 1},
		{amt(1, 18), amt(math.MaxInt64, 0), -1},
		{amt(9, 18), amt(math.MaxInt64, 0), -1},
		{amt(1, math.MaxInt32), amt(math.MaxInt64, math.MinInt32), 1},
		{amt(12345, -3), amt(12346, -3), -1},
	} {
		if got := tc.a.cmp(tc.b); got != tc.want {
			t.Errorf("%+v cmp %+v = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := tc.b.cmp(tc.a); got != -tc.want {
			t.Errorf("%+v cmp %+v = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

type amountResult struct {
	a  amount
	ok bool
}

func res(a amount, ok bool) amountResult { return amountResult{a, ok} }

// Ensures amountShare is report.Share: truncated percent, remaining never negative, a limit of
// 0 or less used whole by any spend.
func TestAmountShare(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		spent, limit             amount
		wantPercent, wantRemains string
		wantOK                   bool
	}{
		{"a quarter", amt(50, 0), amt(200, 0), "25", "150", true},
		{"a third, truncated", amt(1, 0), amt(3, 0), "33.33", "2", true},
		{"two thirds, truncated", amt(2, 0), amt(3, 0), "66.66", "1", true},
		{"micro-units of cents", amt(1_234_567, -6), amt(1999, -2), "6.17", "18.755433", true},
		{"over", amt(250, 0), amt(200, 0), "125", "0", true},
		{"exactly", amt(20000, -2), amt(200, 0), "100", "0", true},
		{"nothing", amt(0, 0), amt(200, 0), "0", "200", true},
		{"a refund", amt(-1, 0), amt(3, 0), "-33.33", "4", true},
		{"a limit of 0 with spend", amt(1, -6), amt(0, 0), "100", "0", true},
		{"a limit of 0 without", amt(0, 0), amt(0, 0), "0", "0", true},
		{"a negative limit", amt(-1, 0), amt(-5, 0), "0", "0", true},
		{"a percent past 64 bits", amt(math.MaxInt64, 0), amt(1, 0), "", "", false},
		{"a tiny limit", amt(1, 0), amt(1, -30), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, r, ok := amountShare(tc.spent, tc.limit)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if ok && (string(p.appendText(nil)) != tc.wantPercent || string(r.appendText(nil)) != tc.wantRemains) {
				t.Errorf("%s, %s; want %s, %s", p.appendText(nil), r.appendText(nil), tc.wantPercent, tc.wantRemains)
			}
			checkAmount(t, tc.spent, tc.limit, 80)
		})
	}
}

// FuzzAmount ensures every operation on amounts gives exactly what shopspring/decimal gives
// (units and exponent, and the same text), or reports not ok only where the result or a step to
// it does not fit 64 bits; and that amountOf takes exactly the decimals that fit.
func FuzzAmount(f *testing.F) {
	for _, s := range []struct {
		ua     int64
		ea     int32
		ub     int64
		eb     int32
		thresh int
	}{
		{150, -2, 225, -2, 80},
		{1_234_567, -6, 1999, -2, 100},
		{0, 0, 0, 0, 0},
		{0, -30, 1, 0, 90},
		{-5, -1, 3, 2, -7},
		{math.MaxInt64, 0, 1, 0, 2},
		{-math.MaxInt64, -19, math.MaxInt64, -18, 100},
		{999_999_999_999_999_999, -12, 999_999_999_999_999_999, -9, 95},
		{9, 18, 1, 0, 1},
		{math.MinInt64, 0, -1, 0, math.MinInt64},
		{7, math.MaxInt32, 3, math.MaxInt32 - 4, 50},
		{7, math.MinInt32, 3, math.MinInt32 + 4, 50},
		{1, math.MaxInt32, 1, math.MinInt32, 80},
		{0, math.MaxInt32, 5, -3, 80},
		{12, 1000, -12, -1000, 80},
	} {
		f.Add(s.ua, s.ea, s.ub, s.eb, s.thresh)
	}
	f.Fuzz(func(t *testing.T, ua int64, ea int32, ub int64, eb int32, threshold int) {
		checkAmountOf(t, ua, ub, ea)
		a, okA := amountOf(decimal.New(ua, ea))
		b, okB := amountOf(decimal.New(ub, eb))
		if okA != (ua != math.MinInt64) || okB != (ub != math.MinInt64) {
			t.Fatalf("amountOf(%d) %v, amountOf(%d) %v", ua, okA, ub, okB)
		}
		if !okA || !okB {
			return
		}
		checkAmount(t, a, b, threshold)
		checkAmount(t, b, a, threshold)
		// And b at an exponent near a's: random exponents are mostly far apart.
		b.exp = int32(min(max(int64(ea)+int64(int8(eb)), math.MinInt32), math.MaxInt32))
		checkAmount(t, a, b, threshold)
		checkAmount(t, b, a, threshold)
	})
}

// checkAmountOf checks amountOf on coefficients near and past 64 bits made of x and y.
func checkAmountOf(t *testing.T, x, y int64, exp int32) {
	t.Helper()
	bx, by := big.NewInt(x), big.NewInt(y)
	ten := big.NewInt(10)
	for _, c := range []*big.Int{
		new(big.Int).Add(new(big.Int).Mul(bx, ten), new(big.Int).Rem(by, ten)),
		new(big.Int).Mul(bx, by),
		new(big.Int).Add(bx, by),
		new(big.Int).Sub(bx, by),
	} {
		d := decimal.NewFromBigInt(c, exp)
		got, ok := amountOf(d)
		if want := fits(c); ok != want {
			t.Fatalf("amountOf(%s) ok = %v, want %v", c, ok, want)
		}
		if ok && !sameDecimal(got.toDecimal(), d) {
			t.Fatalf("amountOf(%s e%d) = %+v", c, exp, got)
		}
	}
}

// near is how far apart two exponents may be for decimal to compute with both at once (its
// rescaling makes a big.Int of that many digits), and how large one may be for its text: far
// past the 19 digits where amounts stop, and cheap enough to fuzz.
const near = 400

// checkAmount checks every operation of a with b against decimal's.
func checkAmount(t *testing.T, a, b amount, threshold int) {
	t.Helper()
	da, db := a.toDecimal(), b.toDecimal()
	gap := int64(a.exp) - int64(b.exp)
	closeExp := gap >= -near && gap <= near

	// cmp, consistent with sub.
	got := a.cmp(b)
	switch {
	case closeExp || a.sign() != b.sign() || a.sign() == 0:
		if want := da.Cmp(db); got != want {
			t.Fatalf("%+v cmp %+v = %d, decimal %d", a, b, got, want)
		}
	case got != a.sign()*cmpInt(gap, 0):
		t.Fatalf("%+v cmp %+v = %d: the larger exponent is the larger magnitude", a, b, got)
	}
	if d, ok := a.sub(b); ok && d.sign() != got {
		t.Fatalf("%+v − %+v = %+v, but cmp says %d", a, b, d, got)
	}

	// add and sub.
	for _, op := range []struct {
		name string
		f    func(amount, amount) (amount, bool)
		dec  func(decimal.Decimal, decimal.Decimal) decimal.Decimal
		negB bool
	}{
		{"+", amount.add, decimal.Decimal.Add, false},
		{"−", amount.sub, decimal.Decimal.Sub, true},
	} {
		r, ok := op.f(a, b)
		if !closeExp {
			// One of the two must be rescaled by more than 19 digits: that fits only for a 0.
			large, small := a, b
			if gap < 0 {
				large, small = b, a
			}
			if ok != (large.units == 0) {
				t.Fatalf("%+v %s %+v = %+v, %v", a, op.name, b, r, ok)
			}
			want := small
			if op.negB && small == b {
				want.units = -want.units
			}
			if ok && r != want {
				t.Fatalf("%+v %s %+v = %+v, want %+v", a, op.name, b, r, want)
			}
			continue
		}
		want := op.dec(da, db)
		e := min(a.exp, b.exp)
		stepsFit := fits(scaled(a, e)) && fits(scaled(b, e)) && fits(want.Coefficient())
		checkResult(t, func() string { return fmt.Sprintf("%+v %s %+v", a, op.name, b) }, r, ok, want, stepsFit)
	}

	// amountLine, as report.Line.
	l, ok := amountLine(a, threshold)
	if int64(a.exp)-2 < math.MinInt32 {
		if ok {
			t.Fatalf("line(%+v, %d) = %+v at an exponent decimal refuses", a, threshold, l)
		}
	} else {
		want := report.Line(da, threshold)
		checkResult(t, func() string { return fmt.Sprintf("line(%+v, %d)", a, threshold) }, l, ok, want, fits(want.Coefficient()))
	}

	// amountShare, as report.Share.
	p, r, ok := amountShare(a, b)
	if b.units > 0 && !closeExp {
		// A spend of 0 is 0 % of any limit, and leaves all of it if the limit need not be
		// rescaled; anything else is far out of 64 bits (or of decimal's int32 exponents).
		e := gap + 2
		if wantOK := a.units == 0 && a.exp > b.exp && e <= math.MaxInt32; ok != wantOK || ok && (p != amt(0, -2) || r != b) {
			t.Fatalf("share(%+v, %+v) = %+v, %+v, %v", a, b, p, r, ok)
		}
	} else {
		wantP, wantR := report.Share(da, db)
		stepsFit := fits(wantP.Coefficient()) && fits(wantR.Coefficient())
		if b.units > 0 {
			e := min(a.exp, b.exp)
			stepsFit = stepsFit && fits(scaled(a, e)) && fits(scaled(b, e)) && percentStepsFit(a, b)
		}
		name := func(what string) func() string {
			return func() string { return fmt.Sprintf("share(%+v, %+v) %s", a, b, what) }
		}
		checkResult(t, name("percent"), p, ok, wantP, stepsFit)
		checkResult(t, name("remaining"), r, ok, wantR, stepsFit)
	}

	// percentOf, as report.PercentOf, of any whole (amountShare divides by positive ones only).
	if closeExp {
		got, ok := percentOf(a, b)
		want := report.PercentOf(da, db)
		stepsFit := fits(want.Coefficient()) && (b.units == 0 || percentStepsFit(a, b))
		checkResult(t, func() string { return fmt.Sprintf("percentOf(%+v, %+v)", a, b) }, got, ok, want, stepsFit)
	}

	// The text, as String (decimal writes every digit of an exponent's zeros).
	for _, x := range []amount{a, b, p, r, l} {
		if x.exp < -near || x.exp > near {
			continue
		}
		if got, want := string(x.appendText([]byte("x"))), "x"+x.toDecimal().String(); got != want {
			t.Fatalf("%+v written %q, decimal %q", x, got, want)
		}
	}
}

// checkResult fails unless ok and got is want, units and exponent; or not ok and stepsFit false.
// name is called only to tell a failure: formatting each check's name took most of the fuzzing.
func checkResult(t *testing.T, name func() string, got amount, ok bool, want decimal.Decimal, stepsFit bool) {
	t.Helper()
	switch {
	case ok && !sameDecimal(got.toDecimal(), want):
		t.Fatalf("%s = %+v, decimal %s e%d", name(), got, want.Coefficient(), want.Exponent())
	case !ok && stepsFit:
		t.Fatalf("%s: not ok, but decimal's %s e%d and every step fit", name(), want.Coefficient(), want.Exponent())
	}
}

// percentStepsFit reports whether report.PercentOf(part, whole)'s division has 64-bit operands
// and quotient, as percentOf divides (a 128-bit numerator: part × 100 × 10^e).
func percentStepsFit(part, whole amount) bool {
	e := int64(part.exp) - int64(whole.exp) + 2
	if part.units == 0 {
		return true
	}
	if e >= 0 {
		return e+2 < 20
	}
	den := new(big.Int).Mul(big.NewInt(whole.units), new(big.Int).Exp(big.NewInt(10), big.NewInt(-e), nil))
	return new(big.Int).Abs(den).IsUint64()
}

// scaled is a's coefficient at exponent e ≤ a.exp.
func scaled(a amount, e int32) *big.Int {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.exp)-int64(e)), nil)
	return p.Mul(p, big.NewInt(a.units))
}

// fits reports whether c can be an amount's units.
func fits(c *big.Int) bool { return c.IsInt64() && c.Int64() != math.MinInt64 }

// sameDecimal reports whether x and y have the same coefficient and exponent, not only value.
func sameDecimal(x, y decimal.Decimal) bool {
	return x.Exponent() == y.Exponent() && x.Coefficient().Cmp(y.Coefficient()) == 0
}

var (
	sinkAmount amount
	sinkInt    int
	sinkBytes  []byte
)

// Ensures the arithmetic of a decision over amounts allocates nothing: reading an estimate,
// adding what is held, comparing with a line, the share, and its text.
func TestAmountAllocs(t *testing.T) {
	estimate := decimal.RequireFromString("0.0123")
	base, _ := amountOf(decimal.RequireFromString("12.345678"))
	held, _ := amountOf(decimal.RequireFromString("0.5"))
	limit, _ := amountOf(decimal.NewFromInt(20))
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		est, _ := amountOf(estimate)
		used, _ := base.add(held)
		used, _ = used.sub(est)
		line, _ := amountLine(limit, 80)
		total, _ := used.add(est)
		sinkInt = total.cmp(line)
		percent, remaining, _ := amountShare(used, limit)
		buf = remaining.appendText(percent.appendText(used.appendText(buf[:0])))
		sinkAmount = est
	})
	if allocs != 0 {
		t.Errorf("%v allocations a decision", allocs)
	}
	sinkBytes = buf
}

// Ensures an amount has no pointer, so that a slice of them is never scanned by the garbage
// collector.
func TestAmountWithoutPointers(t *testing.T) {
	if !pointerFree(reflect.TypeFor[amount]()) {
		t.Error("an amount has a pointer")
	}
}

// pointerFree reports whether a value of ty holds no pointer the garbage collector must follow.
func pointerFree(ty reflect.Type) bool {
	switch ty.Kind() {
	case reflect.Struct:
		for i := range ty.NumField() {
			if !pointerFree(ty.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Array:
		return ty.Len() == 0 || pointerFree(ty.Elem())
	}
	return ty.Kind() <= reflect.Complex128 // bool, numbers
}

// BenchmarkAmountDecision is a decision's arithmetic on one entity, as decide.go does it with
// decimals and as it would with amounts: used (base + before + local + held), whether it
// reaches the deny line with the estimate, the share, and the text of spent, percent and
// remaining.
func BenchmarkAmountDecision(b *testing.B) {
	dec := decimal.RequireFromString
	base, before, local, held := dec("12.345678"), dec("0.25"), dec("0.000123"), dec("0.0123")
	estimate, limit := dec("0.0123"), dec("20")
	deny := report.Line(limit, 100)
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			used := base.Add(before).Add(local).Add(held)
			sinkInt = used.Add(estimate).Cmp(deny)
			percent, remaining := report.Share(used, limit)
			sinkBytes = append(append(append(sinkBytes[:0], used.String()...), percent.String()...), remaining.String()...)
		}
	})
	b.Run("amount", func(b *testing.B) {
		var a [6]amount
		for i, d := range []decimal.Decimal{base, before, local, held, estimate, limit} {
			a[i], _ = amountOf(d)
		}
		line, _ := amountOf(deny)
		sinkBytes = make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			used, _ := a[0].add(a[1])
			used, _ = used.add(a[2])
			used, _ = used.add(a[3])
			total, _ := used.add(a[4])
			sinkInt = total.cmp(line)
			percent, remaining, _ := amountShare(used, a[5])
			sinkBytes = remaining.appendText(percent.appendText(used.appendText(sinkBytes[:0])))
		}
	})
}
