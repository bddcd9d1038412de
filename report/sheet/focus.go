package sheet

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// FocusCSV writes a period's usage as a FinOps FOCUS cost-and-usage dataset: gzip-compressed CSV
// like EventsCSV (RFC 4180, UTF-8, a header row, text made inert by the same rule), with the
// columns FocusColumns lists. Each report.FocusGroup becomes one row per token meter that has
// tokens (uncached input, cache read, cache write, output; a group without tokens keeps its
// output row, which carries its cost). Values follow FOCUS: date-times in UTC as
// YYYY-MM-DDTHH:mm:ssZ, decimals exact and plain (never a float, never an exponent), NULL as an
// empty field, Tags as the events' JSON object.
//
// Cost per meter. An event's cost is one number (a provider's cost, a long-context tier, a fee
// per request or the 1-hour cache-write rate are not split by meter), so a group's cost is
// allocated, and the allocation keeps BilledCost summing exactly to the events' costs:
//
//   - ListUnitPrice is the base rate of the group's price version for the meter in the billing
//     currency (USD rate × the events' exchange rate, per million tokens), ListCost is
//     PricingQuantity × ListUnitPrice exactly;
//   - BilledCost of every meter row but the group's last is its ListCost; the last row's is the
//     group's cost minus the others', so it carries what the base rates do not explain;
//   - without a known price version (the provider's own cost, a version the price table no
//     longer has) ListUnitPrice is NULL and the whole cost is on the last row, with ListCost
//     equal to BilledCost on each row;
//   - unpriced events (x_Unpriced true) are present with BilledCost and ListCost 0 and
//     ListUnitPrice NULL.
//
// EffectiveCost and ContractedCost equal BilledCost: aispend knows no discounts or negotiated
// prices.
type FocusCSV struct {
	gzipCSV
	p      FocusPeriod
	prices report.UnitPrices
	rec    []string
	rows   int64
	billed decimal.Decimal
	err    error
}

// FocusPeriod is what every row of a period's FOCUS file shares.
type FocusPeriod struct {
	Start, End       time.Time // the period, the billing period of every row
	Currency         string    // the reporting currency, BillingCurrency
	BillingAccountID string    // the installation
}

// FocusColumns are the columns of the FOCUS file, in order: FOCUS 1.2's mandatory columns, the
// conditional and recommended ones aispend has values for, 1.3's ServiceProviderName and
// HostProviderName, and aispend's own fields as x_ columns.
var FocusColumns = []string{
	"BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
	"ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
	"ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceProviderName", "HostProviderName",
	"ServiceName", "ServiceCategory", "ServiceSubcategory", "SubAccountId", "SubAccountName",
	"SkuId", "SkuPriceId", "SkuMeter", "PricingCategory", "PricingUnit", "PricingQuantity", "ListUnitPrice",
	"ListCost", "ContractedCost", "EffectiveCost", "BilledCost", "ConsumedQuantity", "ConsumedUnit", "Tags",
	"x_Service", "x_UserId", "x_Endpoint", "x_CacheHit", "x_Unpriced", "x_PriceVersion", "x_ExchangeRate",
}

// focusMeter is one token meter: its SkuMeter, the suffix of its SkuId, and its tokens and rate.
type focusMeter struct {
	name, sku string
	tokens    func(*report.FocusGroup) int64
	rate      func(report.MeterPrices) decimal.Decimal
}

var focusMeters = []focusMeter{
	{"Uncached Input Tokens", "input", func(g *report.FocusGroup) int64 { return g.Uncached }, func(p report.MeterPrices) decimal.Decimal { return p.Uncached }},
	{"Cache Read Tokens", "cache-read", func(g *report.FocusGroup) int64 { return g.CacheRead }, func(p report.MeterPrices) decimal.Decimal { return p.CacheRead }},
	{"Cache Write Tokens", "cache-write", func(g *report.FocusGroup) int64 { return g.CacheWrite }, func(p report.MeterPrices) decimal.Decimal { return p.CacheWrite }},
	{"Output Tokens", "output", func(g *report.FocusGroup) int64 { return g.Output }, func(p report.MeterPrices) decimal.Decimal { return p.Output }},
}

// focusDateTime is FOCUS's date/time format: UTC, seconds, Z.
const focusDateTime = "2006-01-02T15:04:05Z"

// unknownProvider names the provider of events that named none: the provider columns are not
// nullable.
const unknownProvider = "Unknown"

// NewFocusCSV starts the FOCUS file on w with its header row. prices may be nil (no list prices).
func NewFocusCSV(w io.Writer, p FocusPeriod, prices report.UnitPrices) (*FocusCSV, error) {
	if p.Currency == "" || p.BillingAccountID == "" || !p.Start.Before(p.End) {
		return nil, fmt.Errorf("focus csv: currency, billing account and period are required")
	}
	gc, err := newGzipCSV(w)
	if err != nil {
		return nil, fmt.Errorf("focus csv: %w", err)
	}
	c := &FocusCSV{gzipCSV: gc, p: p, prices: prices, rec: make([]string, len(FocusColumns))}
	if err := c.cw.Write(FocusColumns); err != nil {
		return nil, fmt.Errorf("focus csv: write header: %w", err)
	}
	return c, nil
}

// focusLine is one meter row of a group.
type focusLine struct {
	m                *focusMeter
	tokens           int64
	unitPrice        decimal.NullDecimal // per million tokens in the billing currency
	listCost, billed decimal.Decimal
}

// focusLines splits a group into its meter rows and allocates its cost (see FocusCSV).
func focusLines(g *report.FocusGroup, prices report.UnitPrices) []focusLine {
	var lines []focusLine
	for i := range focusMeters {
		if n := focusMeters[i].tokens(g); n != 0 {
			lines = append(lines, focusLine{m: &focusMeters[i], tokens: n})
		}
	}
	if len(lines) == 0 {
		lines = append(lines, focusLine{m: &focusMeters[len(focusMeters)-1]})
	}
	var rates report.MeterPrices
	known := false
	if !g.Unpriced && g.PriceVersion != "" && prices != nil {
		rates, known = prices(g.PriceVersion, g.Model, g.Provider, g.Day)
	}
	fx := decimal.NewFromInt(1)
	if g.FXRate.Valid {
		fx = g.FXRate.Decimal
	}
	rest := g.Cost
	for i := range lines {
		l := &lines[i]
		if known {
			l.unitPrice = decimal.NewNullDecimal(l.m.rate(rates).Mul(fx))
			l.listCost = l.unitPrice.Decimal.Mul(decimal.NewFromInt(l.tokens)).Shift(-6)
			l.billed = l.listCost
		}
		if i == len(lines)-1 {
			l.billed = rest
			if !known {
				l.listCost = rest
			}
		}
		rest = rest.Sub(l.billed)
	}
	return lines
}

// Write appends the rows of one group.
func (c *FocusCSV) Write(g *report.FocusGroup) error {
	if c.err != nil {
		return c.err
	}
	for _, l := range focusLines(g, c.prices) {
		c.fill(g, &l)
		if err := c.cw.Write(c.rec); err != nil {
			c.err = fmt.Errorf("focus csv: write row %d: %w", c.rows+1, err)
			return c.err
		}
		c.rows++
		c.billed = c.billed.Add(l.billed)
	}
	return nil
}

// fill sets rec to the row of line l of group g, in FocusColumns' order.
func (c *FocusCSV) fill(g *report.FocusGroup, l *focusLine) {
	start, end := g.Day, g.Day.AddDate(0, 0, 1)
	if start.Before(c.p.Start) {
		start = c.p.Start
	}
	if end.After(c.p.End) {
		end = c.p.End
	}
	provider := csvText(g.Provider)
	if g.Provider == "" {
		provider = unknownProvider
	}
	model := csvText(g.Model)
	skuPrice, version, fx := "", csvText(g.PriceVersion), ""
	if l.unitPrice.Valid {
		skuPrice = version + "/" + l.m.sku
	}
	if g.FXRate.Valid {
		fx = g.FXRate.Decimal.String()
	}
	billed := l.billed.String()
	c.rec = append(c.rec[:0], c.p.BillingAccountID, "", c.p.Currency, utc(c.p.Start), utc(c.p.End),
		utc(start), utc(end), "Usage", "", model+" "+l.m.name, "Usage-Based",
		provider, provider, provider, provider, provider,
		model, "AI and Machine Learning", "Generative AI", csvText(g.OrgID), csvText(g.OrgID),
		csvText(g.Provider+"/"+g.Model+"/"+l.m.sku), skuPrice, l.m.name, "Standard", "1000000 Tokens",
		decimal.NewFromInt(l.tokens).Shift(-6).String(), nullDecimal(l.unitPrice),
		l.listCost.String(), billed, billed, billed, strconv.FormatInt(l.tokens, 10), "Tokens", g.Tags,
		csvText(g.Service), csvText(g.UserID), csvText(g.Endpoint), strconv.FormatBool(g.CacheHit),
		strconv.FormatBool(g.Unpriced), version, fx)
}

// csvText is untrusted text for a CSV field: valid UTF-8, made inert (the events CSV's rule).
func csvText(s string) string { return inert(strings.ToValidUTF8(s, "\uFFFD")) }

func utc(t time.Time) string { return t.UTC().Format(focusDateTime) }

func nullDecimal(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

// Rows is the number of rows written.
func (c *FocusCSV) Rows() int64 { return c.rows }

// Billed is the sum of the BilledCost written: the period's total cost when complete.
func (c *FocusCSV) Billed() decimal.Decimal { return c.billed }

// Close writes what is buffered and the gzip trailer. The file is complete only if it returns nil.
func (c *FocusCSV) Close() error {
	if c.err != nil {
		return c.err
	}
	if err := c.finish(); err != nil {
		return fmt.Errorf("focus csv: %w", err)
	}
	c.err = fmt.Errorf("focus csv: closed")
	return nil
}
