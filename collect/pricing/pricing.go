// Package pricing turns token counts into money: an effective-dated price table in USD per
// million tokens and exchange rates into the reporting currency, in exact decimal arithmetic.
package pricing

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Price is one row of the price table: USD per million tokens for a model from a date on.
type Price struct {
	Model      string
	Provider   string // empty: any provider
	From       time.Time
	Input      decimal.Decimal // uncached input
	CacheRead  decimal.Decimal
	CacheWrite decimal.Decimal
	Output     decimal.Decimal

	// fast holds the four prices times the USD rate as integer coefficients of one power of
	// ten, so that most events are priced with four integer multiplications. ok is false when
	// they do not fit in int64.
	fast struct {
		coef [4]int64 // input, cache read, cache write, output
		exp  int32
		ok   bool
	}
	version string
}

// Version names the price row, stored on every event it priced.
func (p Price) Version() string {
	if p.version != "" {
		return p.version
	}
	if p.Provider != "" {
		return p.Provider + "/" + p.Model + "@" + p.From.Format(time.DateOnly)
	}
	return p.Model + "@" + p.From.Format(time.DateOnly)
}

// Usage is what a request consumed. InputTokens includes the cached tokens.
type Usage struct {
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens int64
}

// Table prices events. It is immutable after New and safe for concurrent use.
type Table struct {
	currency string
	fx       map[string]decimal.Decimal // units of the reporting currency per unit of the key
	byModel  map[string][]Price         // newest From first
}

// New builds a table. fx maps a currency code to its value in the reporting currency
// (e.g. USD: 1300 when reporting in KRW).
func New(currency string, fx map[string]decimal.Decimal, prices []Price) *Table {
	t := &Table{currency: strings.ToUpper(currency), fx: map[string]decimal.Decimal{}, byModel: map[string][]Price{}}
	for k, v := range fx {
		t.fx[strings.ToUpper(k)] = v
	}
	usd, hasUSD := t.Rate("USD")
	for _, p := range prices {
		p.version = p.Version()
		if hasUSD {
			p.prepare(usd)
		}
		t.byModel[p.Model] = append(t.byModel[p.Model], p)
	}
	for _, ps := range t.byModel {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].From.After(ps[j].From) })
	}
	return t
}

// Currency is the reporting currency.
func (t *Table) Currency() string { return t.currency }

// Rate is the value of one unit of currency in the reporting currency.
func (t *Table) Rate(currency string) (decimal.Decimal, bool) {
	currency = strings.ToUpper(currency)
	if currency == t.currency {
		return decimal.NewFromInt(1), true
	}
	r, ok := t.fx[currency]
	return r, ok
}

// Lookup finds the price in force at the given time: the newest From not after it, preferring
// a row for the same provider over a row for any provider.
func (t *Table) Lookup(model, provider string, at time.Time) (Price, bool) {
	var anyProvider *Price
	for i, p := range t.byModel[model] {
		if p.From.After(at) {
			continue
		}
		if p.Provider == provider || provider == "" {
			return p, true
		}
		if p.Provider == "" && anyProvider == nil {
			anyProvider = &t.byModel[model][i]
		}
	}
	if anyProvider != nil {
		return *anyProvider, true
	}
	return Price{}, false
}

// Priced is the result of pricing one event.
type Priced struct {
	Cost    decimal.Decimal // in the reporting currency
	Version string
	Rate    decimal.Decimal
}

// Cost prices a usage from the table. ok is false when the model has no price or there is no
// USD rate; the event is then stored unpriced and priced later.
func (t *Table) Cost(model, provider string, at time.Time, u Usage) (Priced, bool) {
	p, ok := t.Lookup(model, provider, at)
	if !ok {
		return Priced{}, false
	}
	rate, ok := t.Rate("USD")
	if !ok {
		return Priced{}, false
	}
	uncached := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens
	if c, ok := p.fastCost([4]int64{uncached, u.CacheReadTokens, u.CacheWriteTokens, u.OutputTokens}); ok {
		return Priced{Cost: c, Version: p.Version(), Rate: rate}, true
	}
	usd := p.Input.Mul(decimal.NewFromInt(uncached)).
		Add(p.CacheRead.Mul(decimal.NewFromInt(u.CacheReadTokens))).
		Add(p.CacheWrite.Mul(decimal.NewFromInt(u.CacheWriteTokens))).
		Add(p.Output.Mul(decimal.NewFromInt(u.OutputTokens)))
	// Dividing by 10^6 is a shift: exact, unlike a general division.
	cost := usd.Shift(-6).Mul(rate)
	return Priced{Cost: cost, Version: p.Version(), Rate: rate}, true
}

// ParseDate parses a YYYY-MM-DD price date as midnight in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse date %q (want YYYY-MM-DD): %w", s, err)
	}
	return d, nil
}

// prepare computes the integer coefficients of the fast path.
func (p *Price) prepare(rate decimal.Decimal) {
	vals := [4]decimal.Decimal{p.Input.Mul(rate), p.CacheRead.Mul(rate), p.CacheWrite.Mul(rate), p.Output.Mul(rate)}
	exp := int32(0)
	for _, v := range vals {
		exp = min(exp, v.Exponent())
	}
	for i, v := range vals {
		c := v.Shift(-exp) // an integer now
		if !c.IsInteger() || c.Abs().Cmp(decimal.NewFromInt(maxCoef)) > 0 {
			return
		}
		p.fast.coef[i] = c.IntPart()
	}
	p.fast.exp, p.fast.ok = exp, true
}

// Bounds of the fast path: each product is below 2^29 · 2^31 = 2^60, so the sum of four stays
// below 2^62 and cannot overflow int64.
const (
	maxCoef   = 1<<31 - 1
	maxTokens = 1 << 29
)

// fastCost is the exact cost in integer arithmetic, or ok=false outside the bounds above, where
// the decimal path applies.
func (p *Price) fastCost(tokens [4]int64) (decimal.Decimal, bool) {
	if !p.fast.ok {
		return decimal.Decimal{}, false
	}
	var sum int64
	for i, n := range tokens {
		if n < 0 || n > maxTokens {
			return decimal.Decimal{}, false
		}
		sum += n * p.fast.coef[i]
	}
	return decimal.New(sum, p.fast.exp-6), true
}
