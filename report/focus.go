package report

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// FocusGroup is one group of a period's events for the FOCUS export (report/sheet.FocusCSV): the
// events of one UTC charge day with the same provider, model, service, user, organisation,
// endpoint, tag set, cache hit, pricing state, price version and exchange rate. Its token sums
// are split into one FOCUS row per token meter.
type FocusGroup struct {
	Day                                     time.Time // midnight UTC of the charge day
	Provider, Model, Service                string
	UserID, OrgID, Endpoint                 string // "" when the events have none
	Tags                                    string // the events' tags as JSON text; "" for none
	CacheHit                                bool
	Unpriced                                bool   // the events have no cost
	PriceVersion                            string // "" when none (unpriced, or the provider's cost)
	FXRate                                  decimal.NullDecimal
	Uncached, CacheRead, CacheWrite, Output int64           // tokens per meter; CacheWrite holds both lifetimes
	Cost                                    decimal.Decimal // exact sum of the events' costs (0 when unpriced)
}

// FocusSource streams the FOCUS groups of [from, to), ordered by day then the other keys
// (report/pgquery computes them with a GROUP BY in the database).
type FocusSource interface {
	FocusGroups(ctx context.Context, from, to time.Time, emit func(*FocusGroup) error) error
}

// MeterPrices are the list prices of one price version in USD per million tokens of each meter
// (the price table's base rates, before long-context tiers).
type MeterPrices struct {
	Uncached, CacheRead, CacheWrite, Output decimal.Decimal
}

// UnitPrices finds the base rates of the price version that priced events of model and provider
// on day; false when the price table no longer has that version.
type UnitPrices func(version, model, provider string, day time.Time) (MeterPrices, bool)
