package demodata

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
)

// Price is one provider's published list price for a model, in USD per million tokens, as a
// configuration file would hold it.
type Price struct {
	Provider, Model string
	From            string // YYYY-MM-DD: the day the price took effect
	Input, Output   decimal.Decimal
	// CacheRead and CacheWrite are nil when the provider has no separate price for them; cached
	// tokens then cost as much as uncached input, as in the configuration.
	CacheRead, CacheWrite *decimal.Decimal
}

// Prices is the price table of the demo: list prices as the providers published them (check
// the providers' pages before relying on them for real money). Google bills context-cache
// storage per hour rather than per write, and OpenAI does not charge cache writes, so those
// rows have no cache-write price; the data set never sends cache writes for them. gpt-4o has two
// rows to show effective dating: the price cut of 2024-10-02 applies to every demo event.
func Prices() []Price {
	d := decimal.RequireFromString
	p := func(s string) *decimal.Decimal { v := d(s); return &v }
	return []Price{
		{Provider: "anthropic", Model: "claude-sonnet-4-5", From: "2025-09-29", Input: d("3"), CacheRead: p("0.30"), CacheWrite: p("3.75"), Output: d("15")},
		{Provider: "anthropic", Model: "claude-haiku-4-5", From: "2025-10-15", Input: d("1"), CacheRead: p("0.10"), CacheWrite: p("1.25"), Output: d("5")},
		{Provider: "anthropic", Model: "claude-opus-4-1", From: "2025-08-05", Input: d("15"), CacheRead: p("1.50"), CacheWrite: p("18.75"), Output: d("75")},
		{Provider: "openai", Model: "gpt-4o", From: "2024-05-13", Input: d("5"), Output: d("15")},
		{Provider: "openai", Model: "gpt-4o", From: "2024-10-02", Input: d("2.50"), CacheRead: p("1.25"), Output: d("10")},
		{Provider: "openai", Model: "gpt-4o-mini", From: "2024-07-18", Input: d("0.15"), CacheRead: p("0.075"), Output: d("0.60")},
		{Provider: "openai", Model: "o4-mini", From: "2025-04-16", Input: d("1.10"), CacheRead: p("0.275"), Output: d("4.40")},
		{Provider: "openai", Model: "text-embedding-3-small", From: "2024-01-25", Input: d("0.02"), Output: d("0")},
		{Provider: "google", Model: "gemini-2.5-flash", From: "2025-06-17", Input: d("0.30"), CacheRead: p("0.075"), Output: d("2.50")},
	}
}

// Currency, FXUSD and Timezone are the demo's reporting settings: prices are converted from USD
// at 1,300 KRW, and days, weeks and working hours are those of Seoul.
const (
	Currency = "KRW"
	Timezone = "Asia/Seoul"
)

// FXUSD is the value of one US dollar in won used by the demo.
var FXUSD = decimal.NewFromInt(1300)

// Table builds a pricing table from Prices with the same rules as the configuration: dates are
// midnight in loc, a missing cache price is the uncached input price.
func Table(currency string, fx map[string]decimal.Decimal, loc *time.Location) (*pricing.Table, error) {
	var rows []pricing.Price
	for _, p := range Prices() {
		from, err := pricing.ParseDate(p.From, loc)
		if err != nil {
			return nil, fmt.Errorf("demo price %s: %w", p.Model, err)
		}
		r := pricing.Price{Model: p.Model, Provider: p.Provider, From: from, Input: p.Input, Output: p.Output,
			CacheRead: p.Input, CacheWrite: p.Input}
		if p.CacheRead != nil {
			r.CacheRead = *p.CacheRead
		}
		if p.CacheWrite != nil {
			r.CacheWrite = *p.CacheWrite
		}
		rows = append(rows, r)
	}
	return pricing.New(currency, fx, rows), nil
}
