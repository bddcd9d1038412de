package pricing

import (
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzPrice ensures the integer fast path and the decimal path give the same cost, to the last
// digit, for any rates, exchange rate, tier and usage: tokens of every kind, tiers above the
// threshold and below, counts inside and outside the fast path's bounds.
func FuzzPrice(f *testing.F) {
	f.Add(int64(3), int64(30), int64(375), int64(600), int64(15), int64(1300), int32(-2), int64(200_000),
		int64(250_000), int64(1000), int64(2000), int64(500), int64(300), int64(100))
	f.Add(int64(75), int64(375), int64(9375), int64(0), int64(6), int64(138725), int32(-3), int64(0),
		int64(1<<29), int64(0), int64(0), int64(0), int64(1<<29), int64(0))
	f.Add(int64(1), int64(1), int64(1), int64(1), int64(1), int64(1), int32(0), int64(10),
		int64(1<<40), int64(1<<39), int64(1<<38), int64(1<<37), int64(1<<35), int64(1<<34))
	f.Fuzz(func(t *testing.T, in, cr, cw, cw1h, out, fx int64, exp int32, above int64, nIn, nCR, nCW, n1h, nOut, nRS int64) {
		if exp < -12 || exp > 4 || fx <= 0 || above < 0 {
			return
		}
		for _, v := range []int64{in, cr, cw, cw1h, out} {
			if v < 0 || v > 1<<40 {
				return
			}
		}
		// A valid usage: every part within what it is part of.
		if nIn < 0 || nCR < 0 || nCW < 0 || n1h < 0 || nOut < 0 || nRS < 0 || nCR > nIn || nCW > nIn-nCR || n1h > nCW || nRS > nOut {
			return
		}
		d := func(v int64) decimal.Decimal { return decimal.New(v, exp) }
		p := Price{Input: d(in), CacheRead: d(cr), CacheWrite: d(cw), Output: d(out), CacheWrite1h: decimal.NewNullDecimal(d(cw1h)),
			PerRequest: d(cr + 1).Shift(-3),
			Tiers:      []Tier{{AboveInputTokens: above, Input: d(in * 2), CacheRead: d(cr * 2), CacheWrite: d(cw * 2), Output: d(out + 7)}}}
		rate := decimal.New(fx, -2)
		p.prepare(rate, true)
		u := Usage{InputTokens: nIn, CacheReadTokens: nCR, CacheWriteTokens: nCW, CacheWrite1hTokens: n1h, OutputTokens: nOut, ReasoningTokens: nRS}
		got := p.cost(u, rate)

		// The same cost written out, from the rates the request's tier has.
		r := [6]decimal.Decimal{d(in), d(cr), d(cw), d(cw1h), d(out), d(out)}
		if nIn > above {
			r = [6]decimal.Decimal{d(in * 2), d(cr * 2), d(cw * 2), d(cw * 2), d(out + 7), d(out + 7)}
		}
		n := [6]int64{nIn - nCR - nCW, nCR, nCW - n1h, n1h, nOut - nRS, nRS}
		want := d(cr + 1).Shift(3) // the request fee, per million requests
		for i := range r {
			want = want.Add(r[i].Mul(decimal.NewFromInt(n[i])))
		}
		want = want.Shift(-6).Mul(rate)
		if !got.Equal(want) {
			t.Fatalf("%+v: cost %s, want %s", u, got, want)
		}
		for _, lv := range p.levels {
			ns := [nKinds]int64{n[0], n[1], n[2], n[3], n[4], n[5], 1}
			if fast, ok := lv.fastCost(ns); ok && !fast.Equal(lv.decimalCost(ns, rate)) {
				t.Fatalf("level above %d: fast %s, decimal %s", lv.above, fast, lv.decimalCost(ns, rate))
			}
		}
	})
}
