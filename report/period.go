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

// PeriodContaining is the period of the given kind that contains t, in loc.
func PeriodContaining(kind PeriodKind, t time.Time, loc *time.Location) Period {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch kind {
	case Weekly:
		// Go's Sunday is 0; ISO weeks start on Monday.
		back := (int(day.Weekday()) + 6) % 7
		start := time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		return Period{Kind: Weekly, Start: start, End: time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)}
	case Monthly:
		return Period{Kind: Monthly, Start: time.Date(y, m, 1, 0, 0, 0, 0, loc), End: time.Date(y, m+1, 1, 0, 0, 0, 0, loc)}
	default:
		return Period{Kind: Daily, Start: day, End: time.Date(y, m, d+1, 0, 0, 0, 0, loc)}
	}
}

// ParsePeriod is the period of the given kind that contains the calendar date YYYY-MM-DD in loc.
func ParsePeriod(kind PeriodKind, date string, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return Period{}, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	return PeriodContaining(kind, d, loc), nil
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

// Path is the period's page folder in the published site, e.g. "daily/2025-10-01/".
func (p Period) Path() string { return string(p.Kind) + "/" + p.Label() + "/" }

// String is "daily 2025-10-01".
func (p Period) String() string { return string(p.Kind) + " " + p.Label() }

// Days lists the calendar dates of the period's days in its time zone, as midnight times.
func (p Period) Days() []time.Time {
	var out []time.Time
	loc := p.Start.Location()
	for d := p.Start; d.Before(p.End); {
		out = append(out, d)
		y, m, dd := d.Date()
		d = time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	}
	return out
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
		jan4 := time.Date(year, 1, 4, 12, 0, 0, 0, loc)
		p := PeriodContaining(Weekly, jan4.AddDate(0, 0, 7*(week-1)), loc)
		if yy, ww := p.Start.ISOWeek(); yy != year || ww != week {
			return Period{}, fmt.Errorf("week %q does not exist", label)
		}
		return p, nil
	case Monthly:
		t, err := time.ParseInLocation("2006-01", label, loc)
		if err != nil {
			return Period{}, fmt.Errorf("month %q: want YYYY-MM", label)
		}
		return PeriodContaining(Monthly, t, loc), nil
	default:
		return ParsePeriod(Daily, label, loc)
	}
}
