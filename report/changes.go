package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Spike is a day whose cost is above SpikeFactor times the median cost of the SpikeWindow days
// before it.
type Spike struct {
	Date   time.Time
	Cost   decimal.Decimal
	Median decimal.Decimal
}

// Spike rule: a day is a spike when its cost exceeds SpikeFactor × the median of the SpikeWindow
// days before it. Days without any event are left out of the median (a gap in the data is not
// a day of zero spend), and a day needs SpikeMinBaseline days with data before it to be judged:
// the first days of a deployment have no baseline.
const (
	SpikeFactor      = 2
	SpikeWindow      = 30
	SpikeMinBaseline = 7
)

// Spikes lists the spike days of series, oldest first; history holds the days before the series
// (Report.History), the baseline of its first days. Both are consecutive days, oldest first.
func Spikes(history, series []Day) []Spike {
	all := append(slices.Clone(history), series...)
	var out []Spike
	for i := len(history); i < len(all); i++ {
		d := all[i]
		if d.Requests == 0 || !d.Cost.IsPositive() {
			continue
		}
		var base []decimal.Decimal
		for j := max(0, i-SpikeWindow); j < i; j++ {
			if all[j].Requests > 0 {
				base = append(base, all[j].Cost)
			}
		}
		if len(base) < SpikeMinBaseline {
			continue
		}
		m := median(base)
		if d.Cost.GreaterThan(m.Mul(decimal.NewFromInt(SpikeFactor))) {
			out = append(out, Spike{Date: d.Date, Cost: d.Cost, Median: m})
		}
	}
	return out
}

// median is the middle value, or the mean of the two middle values, exactly.
func median(v []decimal.Decimal) decimal.Decimal {
	s := slices.Clone(v)
	slices.SortFunc(s, func(a, b decimal.Decimal) int { return a.Cmp(b) })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1].Add(s[n/2]).Div(decimal.NewFromInt(2))
}

// BudgetSummary is a budget of a shorter period than a report's, over the report's period.
type BudgetSummary struct {
	Budget Budget
	// Periods are the budget's periods within the report's that have begun (as of the report),
	// Total all of them, and Exceeded those whose spend reached the amount.
	Periods, Total, Exceeded int
}

// String is "daily-total: exceeded on 3 of 30 days", with "so far" and the total while the
// report's period is in progress.
func (s BudgetSummary) String() string {
	noun := map[PeriodKind]string{Daily: "day", Weekly: "week", Monthly: "month"}[s.Budget.Period]
	out := fmt.Sprintf("%s: exceeded on %d of %d %ss", s.Budget.Name, s.Exceeded, s.Periods, noun)
	if s.Periods == 1 {
		out = fmt.Sprintf("%s: exceeded on %d of %d %s", s.Budget.Name, s.Exceeded, s.Periods, noun)
	}
	if s.Periods < s.Total {
		out += fmt.Sprintf(" so far (%d in the period)", s.Total)
	}
	return out
}

// Shorter reports whether budget periods of kind a are shorter than reports of kind b.
func Shorter(a, b PeriodKind) bool {
	rank := map[PeriodKind]int{Daily: 0, Weekly: 1, Monthly: 2}
	return rank[a] < rank[b]
}

// SubPeriods are the periods of kind that overlap p, in order, and how many of them have begun
// by asOf.
func SubPeriods(kind PeriodKind, p Period, asOf time.Time) (ps []Period, begun int) {
	seen := map[time.Time]bool{}
	for _, d := range p.Days() {
		bp := PeriodContaining(kind, d, p.Start.Location())
		if seen[bp.Start] {
			continue
		}
		seen[bp.Start] = true
		ps = append(ps, bp)
		if bp.Start.Before(asOf) {
			begun++
		}
	}
	return ps, begun
}

// Progress describes a period in progress at asOf: "month to date, 3 of 31 days"; "" once the
// period is over (or before it began).
func Progress(p Period, asOf time.Time) string {
	if asOf.IsZero() || !asOf.Before(p.End) || asOf.Before(p.Start) {
		return ""
	}
	days := p.Days()
	loc := p.Start.Location()
	y, m, d := asOf.In(loc).Date()
	today := StartOfDay(y, m, d, loc)
	elapsed := 0
	for _, day := range days {
		if !day.After(today) {
			elapsed++
		}
	}
	switch p.Kind {
	case Daily:
		return "day in progress, as of " + asOf.In(loc).Format("15:04")
	case Weekly:
		return fmt.Sprintf("week to date, %d of %d days", elapsed, len(days))
	}
	return fmt.Sprintf("month to date, %d of %d days", elapsed, len(days))
}

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
