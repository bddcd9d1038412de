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

// CompareLabel names what a report's changes compare with: "vs 27 Nov", "vs 2026-W47",
// "vs October 2026", or for a period in progress "vs 1–3 Nov (same 3 days)".
func CompareLabel(p Period, c *Comparison) string {
	if c == nil {
		return ""
	}
	loc := p.Start.Location()
	prev := p.Previous()
	if c.Partial {
		first, last := c.Start.In(loc), c.End.Add(-time.Nanosecond).In(loc)
		n := len(Period{Kind: Daily, Start: c.Start, End: c.End}.Days())
		if first.Day() == last.Day() && first.Month() == last.Month() {
			return fmt.Sprintf("vs %s (same %d day)", first.Format("2 Jan"), n)
		}
		return fmt.Sprintf("vs %d–%s (same %d days)", first.Day(), last.Format("2 Jan"), n)
	}
	switch p.Kind {
	case Daily:
		return "vs " + prev.Start.In(loc).Format("2 Jan")
	case Weekly:
		return "vs " + prev.Label()
	}
	return "vs " + prev.Start.In(loc).Format("January 2006")
}
