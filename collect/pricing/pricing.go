// Package pricing turns token counts into money: an effective-dated price table in USD per
// million tokens (with long-context tiers and 5-minute / 1-hour cache writes), an optional
// price catalog in the genai-prices format, and exchange rates into the reporting currency, in
// exact decimal arithmetic.
package pricing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
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
	CacheWrite decimal.Decimal // cache writes, and 5-minute cache writes when CacheWrite1h is set
	Output     decimal.Decimal
	// CacheWrite1h prices the 1-hour cache writes; unset, they cost CacheWrite.
	CacheWrite1h decimal.NullDecimal
	// Reasoning prices the reasoning part of the output; unset, it costs Output. Only the
	// catalog sets it (a few models bill reasoning apart).
	Reasoning decimal.NullDecimal
	// PerRequest is a fee in USD per request, whatever its tokens (the catalog's requests_kcount).
	PerRequest decimal.Decimal
	// Tiers reprice the whole request once its input tokens exceed a threshold; the tier with
	// the highest threshold below the request's input tokens applies.
	Tiers []Tier
	// Source is where the row comes from: "" for the configuration, SourceCatalog for the catalog.
	Source string

	levels  []level // base rates first, then one per tier by ascending threshold
	version string
}

// CachePrice is the price of cached tokens (reads, or writes) of a price list that may leave it
// out: the listed price when there is one, else the uncached input price, so that cached tokens
// never cost less than a list says and spend is never under-reported. The configuration's price
// rows and tiers and the catalog follow it.
func CachePrice(listed decimal.NullDecimal, input decimal.Decimal) decimal.Decimal {
	if listed.Valid {
		return listed.Decimal
	}
	return input
}

// SourceCatalog marks a Price that comes from the price catalog.
const SourceCatalog = "catalog"

// Tier is the price of a request whose input tokens exceed AboveInputTokens, in USD per million
// tokens, like Price. Unset cache prices follow the same rules as a Price's.
type Tier struct {
	AboveInputTokens int64
	Input            decimal.Decimal
	CacheRead        decimal.Decimal
	CacheWrite       decimal.Decimal
	Output           decimal.Decimal
	CacheWrite1h     decimal.NullDecimal
	Reasoning        decimal.NullDecimal
}

// Token kinds of one request, in the order of level.rates: every token is in exactly one.
const (
	kUncached = iota
	kCacheRead
	kCacheWrite5m
	kCacheWrite1h
	kOutput // output tokens that are not reasoning
	kReasoning
	kRequest // one per request, priced per million requests like the tokens
	nKinds
)

// level is one set of rates: the base prices or a tier's.
type level struct {
	above int64
	rates [nKinds]decimal.Decimal // USD per million of each kind

	// fast holds the rates times the USD rate as integer coefficients of one power of ten, so
	// that most events are priced with a few integer multiplications. ok is false when they do
	// not fit the bounds below.
	fast struct {
		coef [nKinds]int64
		exp  int32
		ok   bool
	}
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

// Usage is what a request consumed. InputTokens includes the cached tokens; CacheWrite1hTokens
// is the part of CacheWriteTokens written with a 1-hour lifetime; ReasoningTokens is part of
// OutputTokens. The parts never exceed what they are part of (the collector validates it).
type Usage struct {
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens int64
	CacheWrite1hTokens, ReasoningTokens                          int64
}

// Table prices events. It is immutable after New and safe for concurrent use.
type Table struct {
	currency string
	fx       map[string]decimal.Decimal // units of the reporting currency per unit of the key
	byModel  map[string][]Price         // newest From first
	catalog  *catalogIndex
}

// Option configures a Table.
type Option func(*Table)

// WithCatalog prices from the catalog the models that no row of the table names.
func WithCatalog(c *Catalog) Option {
	return func(t *Table) {
		if c != nil {
			t.catalog = &catalogIndex{c: c, resolved: map[string]*preparedModel{}, prepared: map[*catalogModel]*preparedModel{}}
		}
	}
}

// New builds a table. fx maps a currency code to its value in the reporting currency
// (e.g. USD: 1300 when reporting in KRW).
func New(currency string, fx map[string]decimal.Decimal, prices []Price, opts ...Option) *Table {
	t := &Table{currency: strings.ToUpper(currency), fx: map[string]decimal.Decimal{}, byModel: map[string][]Price{}}
	for k, v := range fx {
		t.fx[strings.ToUpper(k)] = v
	}
	for _, o := range opts {
		o(t)
	}
	usd, hasUSD := t.Rate("USD")
	for _, p := range prices {
		p.version = p.Version()
		p.prepare(usd, hasUSD)
		t.byModel[p.Model] = append(t.byModel[p.Model], p)
	}
	for _, ps := range t.byModel {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].From.After(ps[j].From) })
	}
	if t.catalog != nil {
		t.catalog.usd, t.catalog.hasUSD = usd, hasUSD
	}
	return t
}

// Fingerprint identifies what the table prices with: the currency, the exchange rates, every
// price row and the catalog's bytes and date. Two tables with the same fingerprint price every
// event alike, so events one left unpriced the other cannot price either (pgstore.Reprice).
func (t *Table) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "currency %s\n", t.currency)
	for _, k := range slices.Sorted(maps.Keys(t.fx)) {
		fmt.Fprintf(h, "fx %s %s\n", k, t.fx[k].String())
	}
	for _, m := range slices.Sorted(maps.Keys(t.byModel)) {
		for _, p := range t.byModel[m] {
			fmt.Fprintf(h, "price %q %q %s %s %s %s %s %s %s %s %q\n", p.Model, p.Provider, p.From.UTC().Format(time.RFC3339Nano),
				p.Input, p.CacheRead, p.CacheWrite, p.Output, nullString(p.CacheWrite1h), nullString(p.Reasoning), p.PerRequest, p.Source)
			for _, tr := range p.Tiers {
				fmt.Fprintf(h, "tier %d %s %s %s %s %s %s\n", tr.AboveInputTokens, tr.Input, tr.CacheRead, tr.CacheWrite, tr.Output,
					nullString(tr.CacheWrite1h), nullString(tr.Reasoning))
			}
		}
	}
	if t.catalog != nil {
		fmt.Fprintf(h, "catalog %x %s\n", t.catalog.c.sum, t.catalog.c.Date.Format(time.DateOnly))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// nullString is d's digits, or "null".
func nullString(d decimal.NullDecimal) string {
	if !d.Valid {
		return "null"
	}
	return d.Decimal.String()
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

// Lookup finds the price in force at the given time. Rows of the table come first: the newest
// From not after it, preferring a row for the same provider over a row for any provider. A
// model that rows name for the event's provider (or for any provider) is priced from them
// only; any other model is looked up in the catalog, when there is one.
func (t *Table) Lookup(model, provider string, at time.Time) (Price, bool) {
	var anyProvider *Price
	named := false
	for i, p := range t.byModel[model] {
		if p.Provider == provider || provider == "" || p.Provider == "" {
			named = true
		}
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
	if named || t.catalog == nil {
		return Price{}, false
	}
	return t.catalog.lookup(model, provider, at)
}

// TierThresholds lists the thresholds (input tokens) of every tier of every price the table can
// apply, its rows' and the catalog's, ascending without repeats: a request whose input tokens
// are above one threshold and at most the next is priced at one level by every price.
func (t *Table) TierThresholds() []int64 {
	seen := map[int64]bool{}
	add := func(p Price) {
		for _, tr := range p.Tiers {
			seen[tr.AboveInputTokens] = true
		}
	}
	for _, ps := range t.byModel {
		for _, p := range ps {
			add(p)
		}
	}
	if t.catalog != nil {
		for _, pr := range t.catalog.c.providers {
			for _, m := range pr.models {
				for _, c := range m.conds {
					add(c.price)
				}
			}
		}
	}
	out := make([]int64, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Priced is the result of pricing one event.
type Priced struct {
	Cost    decimal.Decimal // in the reporting currency
	Version string
	Rate    decimal.Decimal
	Source  string // "" for the configuration, SourceCatalog for the catalog
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
	return Priced{Cost: p.cost(u, rate), Version: p.Version(), Rate: rate, Source: p.Source}, true
}

// cost is the price of u in the reporting currency at rate units per USD.
func (p *Price) cost(u Usage, rate decimal.Decimal) decimal.Decimal {
	if len(p.levels) == 0 { // a Price built outside New
		p.prepare(rate, false)
	}
	lv := &p.levels[0]
	for i := 1; i < len(p.levels); i++ {
		if u.InputTokens > p.levels[i].above {
			lv = &p.levels[i]
		}
	}
	n := [nKinds]int64{
		kUncached:     u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens,
		kCacheRead:    u.CacheReadTokens,
		kCacheWrite5m: u.CacheWriteTokens - u.CacheWrite1hTokens,
		kCacheWrite1h: u.CacheWrite1hTokens,
		kOutput:       u.OutputTokens - u.ReasoningTokens,
		kReasoning:    u.ReasoningTokens,
		kRequest:      1,
	}
	if c, ok := lv.fastCost(n); ok {
		return c
	}
	return lv.decimalCost(n, rate)
}

// decimalCost is the exact cost in decimal arithmetic, for any counts.
func (lv *level) decimalCost(n [nKinds]int64, rate decimal.Decimal) decimal.Decimal {
	usd := decimal.Zero
	for k, r := range lv.rates {
		if n[k] != 0 && !r.IsZero() {
			usd = usd.Add(r.Mul(decimal.NewFromInt(n[k])))
		}
	}
	// Dividing by 10^6 is a shift: exact, unlike a general division.
	return usd.Shift(-6).Mul(rate)
}

// ParseDate parses a YYYY-MM-DD price date as midnight in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse date %q (want YYYY-MM-DD): %w", s, err)
	}
	return d, nil
}

// Rates are a level's prices in USD per million tokens, with every default resolved: what a
// request whose input exceeds Above pays.
type Rates struct {
	Above                                                         int64 // 0 for the base rates
	Input, CacheRead, CacheWrite, CacheWrite1h, Output, Reasoning decimal.Decimal
	PerRequest                                                    decimal.Decimal // USD per request
}

// Levels lists the price's rates: the base rates, then one per tier by ascending threshold.
func (p Price) Levels() []Rates {
	if len(p.levels) == 0 {
		p.prepare(decimal.NewFromInt(1), false)
	}
	out := make([]Rates, len(p.levels))
	for i, lv := range p.levels {
		r := lv.rates
		out[i] = Rates{Above: lv.above, Input: r[kUncached], CacheRead: r[kCacheRead], CacheWrite: r[kCacheWrite5m],
			CacheWrite1h: r[kCacheWrite1h], Output: r[kOutput], Reasoning: r[kReasoning], PerRequest: r[kRequest].Shift(-6)}
	}
	return out
}

// prepare resolves the defaults of every level and, with a USD rate, computes the integer
// coefficients of the fast path.
func (p *Price) prepare(usd decimal.Decimal, hasUSD bool) {
	rates := func(in, cr, cw, out decimal.Decimal, cw1h, rs decimal.NullDecimal) [nKinds]decimal.Decimal {
		var r [nKinds]decimal.Decimal
		r[kUncached], r[kCacheRead], r[kCacheWrite5m], r[kOutput] = in, cr, cw, out
		r[kCacheWrite1h], r[kReasoning] = cw, out
		if cw1h.Valid {
			r[kCacheWrite1h] = cw1h.Decimal
		}
		if rs.Valid {
			r[kReasoning] = rs.Decimal
		}
		r[kRequest] = p.PerRequest.Shift(6)
		return r
	}
	levels := []level{{rates: rates(p.Input, p.CacheRead, p.CacheWrite, p.Output, p.CacheWrite1h, p.Reasoning)}}
	tiers := append([]Tier(nil), p.Tiers...)
	sort.SliceStable(tiers, func(i, j int) bool { return tiers[i].AboveInputTokens < tiers[j].AboveInputTokens })
	for _, tr := range tiers {
		levels = append(levels, level{above: tr.AboveInputTokens,
			rates: rates(tr.Input, tr.CacheRead, tr.CacheWrite, tr.Output, tr.CacheWrite1h, tr.Reasoning)})
	}
	if hasUSD {
		for i := range levels {
			levels[i].prepareFast(usd)
		}
	}
	p.levels = levels
}

// prepareFast computes the integer coefficients of the fast path.
func (lv *level) prepareFast(rate decimal.Decimal) {
	var vals [nKinds]decimal.Decimal
	exp := int32(0)
	for i, r := range lv.rates {
		vals[i] = r.Mul(rate)
		exp = min(exp, vals[i].Exponent())
	}
	for i, v := range vals {
		c := v.Shift(-exp) // an integer now
		if !c.IsInteger() || c.Abs().Cmp(decimal.NewFromInt(maxCoef)) > 0 {
			return
		}
		lv.fast.coef[i] = c.IntPart()
	}
	lv.fast.exp, lv.fast.ok = exp, true
}

// Bounds of the fast path: each product is below 2^29 · 2^31 = 2^60, so the sum of the seven
// kinds stays below 2^63 and cannot overflow int64.
const (
	maxCoef   = 1<<31 - 1
	maxTokens = 1 << 29
)

// fastCost is the exact cost in integer arithmetic, or ok=false outside the bounds above, where
// the decimal path applies.
func (lv *level) fastCost(n [nKinds]int64) (decimal.Decimal, bool) {
	if !lv.fast.ok {
		return decimal.Decimal{}, false
	}
	var sum int64
	for i, c := range n {
		if c < 0 || c > maxTokens {
			return decimal.Decimal{}, false
		}
		sum += c * lv.fast.coef[i]
	}
	return decimal.New(sum, lv.fast.exp-6), true
}

// catalogIndex resolves event models to catalog models, remembering the answers: matching runs
// the catalog's rules (regular expressions among them) over every model of a provider, and the
// same few model names come back on every event. Prices are prepared for this table's USD rate
// on first use.
type catalogIndex struct {
	c      *Catalog
	usd    decimal.Decimal
	hasUSD bool

	mu       sync.RWMutex
	resolved map[string]*preparedModel        // provider "\x00" model → model, nil when none matches
	prepared map[*catalogModel]*preparedModel // each catalog model prepared once
}

// preparedModel is a catalog model's conditional prices, prepared for one table.
type preparedModel struct {
	m      *catalogModel
	prices []Price // as m.conds
}

// maxResolved bounds the remembered answers: model names come from clients, so a flood of
// distinct names must not grow memory without end. Past it the memory starts afresh.
const maxResolved = 10_000

func (ci *catalogIndex) lookup(model, provider string, at time.Time) (Price, bool) {
	key := provider + "\x00" + model
	ci.mu.RLock()
	pm, seen := ci.resolved[key]
	ci.mu.RUnlock()
	if !seen {
		m := ci.c.find(model, provider)
		ci.mu.Lock()
		if m != nil {
			if pm = ci.prepared[m]; pm == nil {
				pm = &preparedModel{m: m, prices: make([]Price, len(m.conds))}
				for i, c := range m.conds {
					pm.prices[i] = c.price
					pm.prices[i].prepare(ci.usd, ci.hasUSD)
				}
				ci.prepared[m] = pm
			}
		}
		if len(ci.resolved) >= maxResolved {
			ci.resolved = map[string]*preparedModel{}
		}
		ci.resolved[key] = pm
		ci.mu.Unlock()
	}
	if pm == nil {
		return Price{}, false
	}
	i, ok := pm.m.condAt(at)
	if !ok {
		return Price{}, false
	}
	return pm.prices[i], true
}

// LevelFor is the rates a request with inputTokens input tokens pays: the base rates, or those of
// the highest tier whose threshold it exceeds, as Cost prices it.
func (p Price) LevelFor(inputTokens int64) Rates {
	levels := p.Levels()
	lv := levels[0]
	for _, l := range levels[1:] { // ascending thresholds: the highest one below the input applies
		if inputTokens > l.Above {
			lv = l
		}
	}
	return lv
}

// CacheSaving is what tokens read from the prompt cache saved, in the reporting currency, in a
// request of inputTokens input tokens: each would have cost the uncached input price and cost the
// cache-read price, both of the level that priced the request. False when the model has no price
// at that time or the table has no USD rate.
func (t *Table) CacheSaving(model, provider string, at time.Time, inputTokens, tokens int64) (decimal.Decimal, bool) {
	rate, ok := t.Rate("USD")
	if !ok {
		return decimal.Zero, false
	}
	p, ok := t.Lookup(model, provider, at)
	if !ok {
		return decimal.Zero, false
	}
	lv := p.LevelFor(inputTokens)
	// Per million tokens, in USD: the shift is exact.
	return lv.Input.Sub(lv.CacheRead).Mul(decimal.NewFromInt(tokens)).Shift(-6).Mul(rate), true
}
