package report

import (
	"testing"
	"time"
)

func loc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPeriodContaining(t *testing.T) {
	seoul := loc(t, "Asia/Seoul")
	berlin := loc(t, "Europe/Berlin")
	tests := []struct {
		name       string
		kind       PeriodKind
		at         time.Time
		loc        *time.Location
		start, end string // RFC 3339
		label      string
	}{
		{"seoul day is not the UTC day", Daily, time.Date(2025, 9, 30, 15, 30, 0, 0, time.UTC), seoul,
			"2025-10-01T00:00:00+09:00", "2025-10-02T00:00:00+09:00", "2025-10-01"},
		{"UTC day of the same instant", Daily, time.Date(2025, 9, 30, 15, 30, 0, 0, time.UTC), time.UTC,
			"2025-09-30T00:00:00Z", "2025-10-01T00:00:00Z", "2025-09-30"},
		{"start is inclusive", Daily, time.Date(2025, 10, 1, 0, 0, 0, 0, seoul), seoul,
			"2025-10-01T00:00:00+09:00", "2025-10-02T00:00:00+09:00", "2025-10-01"},
		{"end is exclusive", Daily, time.Date(2025, 10, 1, 23, 59, 59, 999999999, seoul), seoul,
			"2025-10-01T00:00:00+09:00", "2025-10-02T00:00:00+09:00", "2025-10-01"},
		{"week starts on Monday", Weekly, time.Date(2025, 10, 5, 23, 0, 0, 0, seoul), seoul, // a Sunday
			"2025-09-29T00:00:00+09:00", "2025-10-06T00:00:00+09:00", "2025-W40"},
		{"Monday is its own week", Weekly, time.Date(2025, 10, 6, 0, 0, 0, 0, seoul), seoul,
			"2025-10-06T00:00:00+09:00", "2025-10-13T00:00:00+09:00", "2025-W41"},
		{"ISO week across the new year", Weekly, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), time.UTC,
			"2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z", "2026-W01"},
		{"ISO week 53", Weekly, time.Date(2021, 1, 2, 12, 0, 0, 0, time.UTC), time.UTC,
			"2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z", "2020-W53"},
		{"month", Monthly, time.Date(2025, 10, 31, 23, 0, 0, 0, seoul), seoul,
			"2025-10-01T00:00:00+09:00", "2025-11-01T00:00:00+09:00", "2025-10"},
		{"february of a leap year", Monthly, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.UTC,
			"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-02"},
		{"daylight saving day is 23 hours", Daily, time.Date(2025, 3, 30, 12, 0, 0, 0, berlin), berlin,
			"2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", "2025-03-30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := PeriodContaining(tc.kind, tc.at, tc.loc)
			if got := p.Start.Format(time.RFC3339); got != tc.start {
				t.Errorf("start %s; want %s", got, tc.start)
			}
			if got := p.End.Format(time.RFC3339); got != tc.end {
				t.Errorf("end %s; want %s", got, tc.end)
			}
			if p.Label() != tc.label {
				t.Errorf("label %s; want %s", p.Label(), tc.label)
			}
			if !p.Contains(tc.at) {
				t.Errorf("%v does not contain %v", p, tc.at)
			}
			back, err := ParseLabel(tc.kind, tc.label, tc.loc)
			if err != nil || !back.Start.Equal(p.Start) || !back.End.Equal(p.End) {
				t.Errorf("ParseLabel(%s) = %v, %v; want %v", tc.label, back, err, p)
			}
			prev := p.Previous()
			if !prev.End.Equal(p.Start) || prev.Kind != p.Kind || !prev.Next().Start.Equal(p.Start) {
				t.Errorf("previous %v does not end at %v", prev, p.Start)
			}
		})
	}
}

func TestPeriodDays(t *testing.T) {
	seoul := loc(t, "Asia/Seoul")
	p := PeriodContaining(Weekly, time.Date(2025, 10, 1, 0, 0, 0, 0, seoul), seoul)
	days := p.Days()
	if len(days) != 7 || days[0].Format(time.DateOnly) != "2025-09-29" || days[6].Format(time.DateOnly) != "2025-10-05" {
		t.Fatalf("days %v", days)
	}
	if n := len(PeriodContaining(Monthly, days[0], seoul).Days()); n != 30 {
		t.Errorf("september has %d days", n)
	}
}

func TestParsePeriodErrors(t *testing.T) {
	for _, tc := range []struct {
		kind  PeriodKind
		label string
	}{{Daily, "2025-13-01"}, {Daily, "yesterday"}, {Weekly, "2025-W54"}, {Weekly, "2025-40"}, {Monthly, "2025-1"}, {Weekly, "2025-W53"}} {
		if _, err := ParseLabel(tc.kind, tc.label, time.UTC); err == nil {
			t.Errorf("ParseLabel(%s, %q) accepted", tc.kind, tc.label)
		}
	}
	if _, err := ParsePeriodKind("hourly"); err == nil {
		t.Error("hourly accepted")
	}
}

// Ensures the retention a budget needs covers its longest period plus the day after, in hours of
// the zone: one day more where daylight saving makes a day 25 hours.
func TestRetentionNeeded(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		kind PeriodKind
		want int
	}{
		{"UTC", Daily, 2}, {"UTC", Weekly, 8}, {"UTC", Monthly, 32},
		{"Asia/Seoul", Monthly, 32},
		{"Europe/Berlin", Daily, 3}, {"Europe/Berlin", Weekly, 9}, {"Europe/Berlin", Monthly, 33},
		{"America/Havana", Monthly, 33},
	} {
		if got := RetentionNeeded(tc.kind, loc(t, tc.zone), now); got != tc.want {
			t.Errorf("%s %s: %d days; want %d", tc.zone, tc.kind, got, tc.want)
		}
	}
}

// Ensures a date that does not exist is named as such.
func TestParseDate(t *testing.T) {
	for s, want := range map[string]string{
		"2026-02-30": "2026-02-30 is not a date: February 2026 has 28 days",
		"2024-02-30": "2024-02-30 is not a date: February 2024 has 29 days",
		"2026-00-10": "2026-00-10 is not a date: there is no month 00",
		"2026-01-00": "2026-01-00 is not a date: January 2026 has 31 days",
		"2026-1-01":  `"2026-1-01" is not a date: want YYYY-MM-DD`,
		"2026-01-0x": `"2026-01-0x" is not a date: want YYYY-MM-DD`,
	} {
		if _, _, _, err := ParseDate(s); err == nil || err.Error() != want {
			t.Errorf("ParseDate(%q) = %v; want %q", s, err, want)
		}
	}
	if y, m, d, err := ParseDate("2024-02-29"); err != nil || y != 2024 || m != 2 || d != 29 {
		t.Errorf("2024-02-29: %d %d %d %v", y, m, d, err)
	}
}
