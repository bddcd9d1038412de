package demodata

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
)

// DayTotal is what one calendar day of rows adds up to, in exact decimals.
type DayTotal struct {
	Date     time.Time // midnight in the location
	Events   int
	Cost     decimal.Decimal // priced events only, in the reporting currency
	Unpriced int
}

// Totals adds up rows per calendar day of a location. The zero value is not usable; use
// NewTotals.
type Totals struct {
	loc  *time.Location
	days map[time.Time]*DayTotal
}

// NewTotals starts empty totals for days in loc.
func NewTotals(loc *time.Location) *Totals {
	return &Totals{loc: loc, days: map[time.Time]*DayTotal{}}
}

// Add counts one row.
func (t *Totals) Add(r collect.Row) {
	at := r.OccurredAt.In(t.loc)
	day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, t.loc)
	d := t.days[day]
	if d == nil {
		d = &DayTotal{Date: day}
		t.days[day] = d
	}
	d.Events++
	if r.Cost.Valid {
		d.Cost = d.Cost.Add(r.Cost.Decimal)
	} else {
		d.Unpriced++
	}
}

// Days lists the days with rows, oldest first.
func (t *Totals) Days() []DayTotal {
	out := make([]DayTotal, 0, len(t.days))
	for _, d := range t.days {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// Sum is the total of every day.
func (t *Totals) Sum() (cost decimal.Decimal, events, unpriced int) {
	for _, d := range t.days {
		cost = cost.Add(d.Cost)
		events += d.Events
		unpriced += d.Unpriced
	}
	return cost, events, unpriced
}
