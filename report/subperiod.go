package report

import (
	"fmt"
	"time"
)

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
