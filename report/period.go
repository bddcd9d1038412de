package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PeriodKind is the length of a reporting or budget period.
type PeriodKind string

// The period kinds. Weeks are ISO weeks: Monday to Sunday.
const (
	Daily   PeriodKind = "daily"
	Weekly  PeriodKind = "weekly"
	Monthly PeriodKind = "monthly"
)

// PeriodKinds are the period kinds, shortest first.
func PeriodKinds() []PeriodKind { return []PeriodKind{Daily, Weekly, Monthly} }

// ParsePeriodKind accepts daily, weekly or monthly.
func ParsePeriodKind(s string) (PeriodKind, error) {
	switch k := PeriodKind(strings.ToLower(strings.TrimSpace(s))); k {
	case Daily, Weekly, Monthly:
		return k, nil
	}
	return "", fmt.Errorf("period %q: want daily, weekly or monthly", s)
}

// Period is a calendar-aligned, half-open interval [Start, End) in a time zone: a day, an ISO
// week starting on Monday, or a month. Start and End carry the location, so a daily period in
// Asia/Seoul is not the UTC day.
type Period struct {
	Kind  PeriodKind
	Start time.Time
	End   time.Time
}

// StartOfDay is the first instant of the calendar day y-m-d in loc (nil: UTC). The date is
// normalised like time.Date's (d = 32 is a day of the next month). It is usually midnight, but not
// always: where a daylight-saving change skips midnight (America/Havana, America/Santiago,
// Atlantic/Azores, Asia/Beirut… move their clocks from 23:59:59 to 01:00), the day begins at the
// change, while time.Date(y, m, d, 0, 0, 0, 0, loc) can return 23:00 of the day before; where
// midnight happens twice (clocks go back from 00:59:59 to 00:00), it is the earlier one. For a
// day the zone skipped altogether (Pacific/Apia, 2011-12-30) it is the start of the next day, so
// that the skipped day is empty. Every day, week and month of aispend starts here.
func StartOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	// The day's wall-clock midnight read as UTC; local midnight at offset off is wall - off.
	wall := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// Walk the spans of constant offset from one safely before the day (offsets are within
	// ±26 h). In a span the wall clock runs continuously, so the instants whose date is the
	// day or later form [max(span start, local midnight), span end); the first span where that is
	// not empty holds the answer.
	t := wall.Add(-48 * time.Hour).In(loc)
	for {
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		first := wall.Add(-time.Duration(off) * time.Second)
		if !start.IsZero() && first.Before(start) {
			first = start
		}
		if end.IsZero() || first.Before(end) {
			return first.In(loc)
		}
		t = end.In(loc)
	}
}

// PeriodContaining is the period of the given kind that contains t, in loc.
func PeriodContaining(kind PeriodKind, t time.Time, loc *time.Location) Period {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	switch kind {
	case Weekly:
		// Go's Sunday is 0; ISO weeks start on Monday.
		back := (int(t.Weekday()) + 6) % 7
		return Period{Kind: Weekly, Start: StartOfDay(y, m, d-back, loc), End: StartOfDay(y, m, d-back+7, loc)}
	case Monthly:
		return Period{Kind: Monthly, Start: StartOfDay(y, m, 1, loc), End: StartOfDay(y, m+1, 1, loc)}
	default:
		return Period{Kind: Daily, Start: StartOfDay(y, m, d, loc), End: StartOfDay(y, m, d+1, loc)}
	}
}

// ParseDate reads a calendar date YYYY-MM-DD. A date that does not exist is named as such:
// "2026-02-30 is not a date: February 2026 has 28 days".
func ParseDate(s string) (y int, m time.Month, d int, err error) {
	if len(s) != len(time.DateOnly) || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, fmt.Errorf("%q is not a date: want YYYY-MM-DD", s)
	}
	var n [3]int
	for i, part := range []string{s[0:4], s[5:7], s[8:10]} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, 0, 0, fmt.Errorf("%q is not a date: want YYYY-MM-DD", s)
			}
		}
		n[i], _ = strconv.Atoi(part)
	}
	y, m, d = n[0], time.Month(n[1]), n[2]
	if m < time.January || m > time.December {
		return 0, 0, 0, fmt.Errorf("%s is not a date: there is no month %02d", s, n[1])
	}
	if days := DaysIn(y, m); d < 1 || d > days {
		return 0, 0, 0, fmt.Errorf("%s is not a date: %s %d has %d days", s, m, y, days)
	}
	return y, m, d, nil
}

// DaysIn is the number of days of month m of year y.
func DaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// ParsePeriod is the period of the given kind that contains the calendar date YYYY-MM-DD in loc.
func ParsePeriod(kind PeriodKind, date string, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d, err := ParseDate(date)
	if err != nil {
		return Period{}, err
	}
	return PeriodContaining(kind, StartOfDay(y, m, d, loc), loc), nil
}

// Previous is the period of the same kind that ends where p starts.
func (p Period) Previous() Period {
	return PeriodContaining(p.Kind, p.Start.Add(-time.Nanosecond), p.Start.Location())
}

// Next is the period of the same kind that starts where p ends.
func (p Period) Next() Period {
	return PeriodContaining(p.Kind, p.End, p.End.Location())
}

// Contains reports whether t is in [Start, End).
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

// Length is the period's duration; a day with a daylight-saving change is 23 or 25 hours.
func (p Period) Length() time.Duration { return p.End.Sub(p.Start) }

// Label names the period: 2025-10-01, 2025-W40 or 2025-10.
func (p Period) Label() string {
	switch p.Kind {
	case Weekly:
		y, w := p.Start.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Monthly:
		return p.Start.Format("2006-01")
	default:
		return p.Start.Format(time.DateOnly)
	}
}

// String is "daily 2025-10-01".
func (p Period) String() string { return string(p.Kind) + " " + p.Label() }

// Days lists the first instants (StartOfDay) of the period's days in its time zone; a day the
// zone skipped altogether is left out.
func (p Period) Days() []time.Time {
	var out []time.Time
	loc := p.Start.Location()
	y, m, d := p.Start.Date()
	for i := 0; ; i++ {
		s := StartOfDay(y, m, d+i, loc)
		if !s.Before(p.End) {
			return out
		}
		if len(out) == 0 || s.After(out[len(out)-1]) {
			out = append(out, s)
		}
	}
}

// ParseLabel reads a label made by Label back into a period in loc.
func ParseLabel(kind PeriodKind, label string, loc *time.Location) (Period, error) {
	switch kind {
	case Weekly:
		y, w, ok := strings.Cut(label, "-W")
		year, err1 := strconv.Atoi(y)
		week, err2 := strconv.Atoi(w)
		if !ok || err1 != nil || err2 != nil || week < 1 || week > 53 {
			return Period{}, fmt.Errorf("week %q: want YYYY-Www", label)
		}
		// 4 January is always in ISO week 1.
		p := PeriodContaining(Weekly, StartOfDay(year, 1, 4+7*(week-1), loc), loc)
		if yy, ww := p.Start.ISOWeek(); yy != year || ww != week {
			return Period{}, fmt.Errorf("week %q does not exist", label)
		}
		return p, nil
	case Monthly:
		t, err := time.Parse("2006-01", label)
		if err != nil {
			return Period{}, fmt.Errorf("month %q: want YYYY-MM", label)
		}
		return PeriodContaining(Monthly, StartOfDay(t.Year(), t.Month(), 1, loc), loc), nil
	default:
		return ParsePeriod(Daily, label, loc)
	}
}

// RetentionNeeded is the shortest retention, in days of 24 hours, that keeps every raw event of
// a budget period of the kind stored for as long as the batch job reads it from the event log:
// during the whole period (the budget check of the period in progress), and through the day
// after it ends, when the report of that day (or week, or month) checks the budget period that
// holds its last instant. It is the longest such period plus the day after, in loc, among the
// periods from a year before now to two years after: 2 days for daily budgets, 8 for weekly and
// 32 for monthly in a zone without daylight saving; 3, 9 and 33 where a day can be 25 hours.
func RetentionNeeded(kind PeriodKind, loc *time.Location, now time.Time) int {
	var longest time.Duration
	end := now.AddDate(2, 0, 0)
	for p := PeriodContaining(kind, now.AddDate(-1, 0, 0), loc); p.Start.Before(end); p = p.Next() {
		after := PeriodContaining(Daily, p.End, loc)
		longest = max(longest, after.End.Sub(p.Start))
	}
	day := 24 * time.Hour
	return int((longest + day - 1) / day)
}
