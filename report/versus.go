package report

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Basis says what a report's changes are measured against.
type Basis int

const (
	// BasisFull: the previous period (or its same elapsed days) has data throughout.
	BasisFull Basis = iota
	// BasisPartial: the data begin inside the compared range after its first day (whose first
	// event may well be late: a quiet night), and it is compared from then on.
	BasisPartial
	// BasisNone: the data begin after the compared range (or there are none): nothing to
	// compare with.
	BasisNone
)

// String is the basis as report.json states it: full, partial or none.
func (b Basis) String() string {
	switch b {
	case BasisPartial:
		return "partial"
	case BasisNone:
		return "none"
	}
	return "full"
}

// Versus is a report's comparison with the previous period as every output states it (the page,
// the digest, report.json): what the changes are measured against and its name.
type Versus struct {
	Basis Basis
	// Label names what is compared with: "vs 27 Nov", "vs 2026-W47", "vs October 2026", "vs 1–3
	// Nov (same 3 days)"; on a partial basis "vs 7 Nov 11:02–24:00, when data begin"; without
	// one "nothing to compare with: data begin 5 Dec 09:14".
	Label string
}

// VersusOf is the comparison of a report of period p with c (nil: none read, the zero Versus
// with no label).
func VersusOf(p Period, c *Comparison) Versus {
	if c == nil {
		return Versus{}
	}
	loc := p.Start.Location()
	switch {
	case c.NoData:
		return Versus{Basis: BasisNone, Label: "nothing to compare with: no data before"}
	case !c.DataBegin.IsZero() && !c.DataBegin.Before(c.End):
		return Versus{Basis: BasisNone, Label: "nothing to compare with: data begin " + c.DataBegin.In(loc).Format("2 Jan 15:04")}
	case !c.DataBegin.IsZero() && !c.DataBegin.Before(secondDay(c.Start, loc)):
		from, last := c.DataBegin.In(loc), c.End.Add(-time.Nanosecond).In(loc)
		if from.YearDay() == last.YearDay() && from.Year() == last.Year() {
			return Versus{Basis: BasisPartial, Label: "vs " + from.Format("2 Jan 15:04") + "–24:00, when data begin"}
		}
		return Versus{Basis: BasisPartial, Label: "vs " + from.Format("2 Jan 15:04") + " – " + last.Format("2 Jan") + " 24:00, since data begin"}
	}
	prev := p.Previous()
	if c.Partial {
		first, last := c.Start.In(loc), c.End.Add(-time.Nanosecond).In(loc)
		n := len(Period{Kind: Daily, Start: c.Start, End: c.End}.Days())
		if first.Day() == last.Day() && first.Month() == last.Month() {
			return Versus{Label: fmt.Sprintf("vs %s (same %d day)", first.Format("2 Jan"), n)}
		}
		return Versus{Label: fmt.Sprintf("vs %d–%s (same %d days)", first.Day(), last.Format("2 Jan"), n)}
	}
	switch p.Kind {
	case Daily:
		return Versus{Label: "vs " + prev.Start.In(loc).Format("2 Jan")}
	case Weekly:
		return Versus{Label: "vs " + prev.Label()}
	}
	return Versus{Label: "vs " + prev.Start.In(loc).Format("January 2006")}
}

// secondDay is the start of the day after t's (in loc).
func secondDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return StartOfDay(y, m, d+1, loc)
}

// Delta is a figure's change against a report's comparison.
type Delta struct {
	Amount decimal.Decimal // current − previous
	// Percent is Amount as a percentage of the previous value (Change), set only when
	// HasPercent: on a full basis and from a value that is not zero. A percentage of part of a
	// period, or of nothing, is not a change anyone can use (+2113.6 %, +∞ %).
	Percent    decimal.Decimal
	HasPercent bool
	// New: the previous value is zero and the current one is not; there is no baseline.
	New bool
}

// Delta is the change from prev to cur on this comparison's basis; ok is false when there is
// nothing to compare with (BasisNone).
func (v Versus) Delta(cur, prev decimal.Decimal) (d Delta, ok bool) {
	if v.Basis == BasisNone {
		return Delta{}, false
	}
	d.Amount = cur.Sub(prev)
	if prev.IsZero() {
		d.New = !cur.IsZero()
		return d, true
	}
	if v.Basis == BasisFull {
		d.Percent, d.HasPercent = Change(cur, prev)
	}
	return d, true
}
