package report

import (
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
