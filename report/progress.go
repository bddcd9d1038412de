package report

import (
	"fmt"
	"time"
)

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
