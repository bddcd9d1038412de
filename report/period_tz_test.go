package report

import (
	"archive/zip"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// tzReference is the fixed date the daylight-saving tests look three years either side of, so
// that which days they check depends only on the time zone database, not on when they run.
var tzReference = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// zoneNames lists every zone of Go's time zone database (GOROOT/lib/time/zoneinfo.zip).
func zoneNames(t *testing.T) []string {
	t.Helper()
	z, err := zip.OpenReader(runtime.GOROOT() + "/lib/time/zoneinfo.zip")
	if err != nil {
		t.Fatalf("open the Go time zone database: %v", err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, "/") {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	if len(names) < 300 {
		t.Fatalf("only %d zones in the time zone database", len(names))
	}
	return names
}

// date is a calendar date, independent of any zone.
type date struct {
	y int
	m time.Month
	d int
}

func dateOfTime(t time.Time) date { y, m, d := t.Date(); return date{y, m, d} }

func (d date) add(n int) date                   { return dateOfTime(time.Date(d.y, d.m, d.d+n, 0, 0, 0, 0, time.UTC)) }
func (d date) String() string                   { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }
func (d date) before(e date) bool               { return d.String() < e.String() }
func (d date) wall() time.Time                  { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC) }
func (d date) start(l *time.Location) time.Time { return StartOfDay(d.y, d.m, d.d, l) }

// hasMidnight reports whether 00:00:00 of d happens in l: where it does not, time.Date returns
// an instant whose wall clock is another time.
func hasMidnight(d date, l *time.Location) bool {
	t := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, l)
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && dateOfTime(t) == d
}

// firstMinute finds, by brute force, the first whole minute whose date in l is d or later:
// the first instant of d (transitions of the tz database in these years are on whole minutes).
func firstMinute(d date, l *time.Location) time.Time {
	for t := d.wall().Add(-27 * time.Hour); ; t = t.Add(time.Minute) {
		if !dateOfTime(t.In(l)).before(d) {
			return t
		}
	}
}

// offset is the UTC offset in effect at t in l.
func offset(t time.Time, l *time.Location) time.Duration {
	_, off := t.In(l).Zone()
	return time.Duration(off) * time.Second
}

// wantLength is how long a period of n calendar days from start to end lasts: n × 24 h, less
// what the clocks moved forward in between, plus what they moved back. Each boundary is read on
// the clock that ran up to it (the offset just before it), so a day that begins at 01:00
// because its midnight was skipped counts 23 hours, and the day before it 24.
func wantLength(n int, start, end time.Time, l *time.Location) time.Duration {
	return time.Duration(n)*24*time.Hour - (offset(end.Add(-time.Nanosecond), l) - offset(start.Add(-time.Nanosecond), l))
}

// daysOf calls p.Days, failing the test binary rather than hanging when the loop does not
// advance (which is what time.Date-based day loops did on a day without a midnight).
func daysOf(p Period) []time.Time {
	done := make(chan []time.Time, 1)
	go func() { done <- p.Days() }()
	select {
	case d := <-done:
		return d
	case <-time.After(10 * time.Second):
		panic(fmt.Sprintf("%v (%s .. %s) Days() did not return in 10 s: the day loop does not advance", p, p.Start, p.End))
	}
}

// Ensures StartOfDay is the first instant of the day for every day of every zone in the three
// years either side of the reference date: it is in the day, and the instant before is not.
func TestStartOfDayEveryZone(t *testing.T) {
	from, to := dateOfTime(tzReference.AddDate(-3, 0, 0)), dateOfTime(tzReference.AddDate(3, 0, 0))
	for _, name := range zoneNames(t) {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Errorf("load %s: %v", name, err)
			continue
		}
		bad := 0
		for d := from; d.before(to); d = d.add(1) {
			s := d.start(l)
			if got := dateOfTime(s.In(l)); got != d || !dateOfTime(s.Add(-time.Nanosecond).In(l)).before(d) {
				t.Errorf("%s: StartOfDay(%s) = %s: not the first instant of the day", name, d, s)
				if bad++; bad > 3 {
					break
				}
			}
		}
	}
}

// Ensures StartOfDay normalises its date like time.Date and treats a nil zone as UTC.
func TestStartOfDayNormalises(t *testing.T) {
	havana := loc(t, "America/Havana")
	for _, tc := range []struct {
		y    int
		m    time.Month
		d    int
		l    *time.Location
		want string
	}{
		{2026, 1, 32, time.UTC, "2026-02-01T00:00:00Z"},
		{2026, 13, 1, time.UTC, "2027-01-01T00:00:00Z"},
		{2026, 3, 0, time.UTC, "2026-02-28T00:00:00Z"},
		{2026, 2, 36, havana, "2026-03-08T01:00:00-04:00"}, // 8 March: no midnight in Havana
		{2026, 11, 1, havana, "2026-11-01T00:00:00-04:00"}, // midnight happens twice: the first
		{2026, 5, 1, nil, "2026-05-01T00:00:00Z"},
	} {
		if got := StartOfDay(tc.y, tc.m, tc.d, tc.l).Format(time.RFC3339); got != tc.want {
			t.Errorf("StartOfDay(%d, %d, %d, %v) = %s; want %s", tc.y, tc.m, tc.d, tc.l, got, tc.want)
		}
	}
	// Pacific/Apia skipped 30 December 2011: that day is empty, and the days around it line up.
	apia := loc(t, "Pacific/Apia")
	if s, e := StartOfDay(2011, 12, 30, apia), StartOfDay(2011, 12, 31, apia); !s.Equal(e) || e.Format(time.RFC3339) != "2011-12-31T00:00:00+14:00" {
		t.Errorf("Apia 2011-12-30: %s .. %s; want the empty day at 2011-12-31T00:00:00+14:00", s, e)
	}
	p := PeriodContaining(Monthly, time.Date(2011, 12, 15, 0, 0, 0, 0, apia), apia)
	if days := daysOf(p); len(days) != 30 || days[len(days)-1].Format(time.DateOnly) != "2011-12-31" {
		t.Errorf("Apia December 2011: %d days, last %s; want 30 days (the 30th skipped), last 2011-12-31", len(days), days[len(days)-1])
	}
}

// noMidnightDays lists, for every zone, the days in the three years either side of the
// reference date on which midnight does not happen.
func noMidnightDays(t *testing.T) map[string][]date {
	t.Helper()
	from, to := dateOfTime(tzReference.AddDate(-3, 0, 0)), dateOfTime(tzReference.AddDate(3, 0, 0))
	out := map[string][]date{}
	for _, name := range zoneNames(t) {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		for d := from; d.before(to); d = d.add(1) {
			if !hasMidnight(d, l) {
				out[name] = append(out[name], d)
			}
		}
	}
	return out
}

// Ensures that on every day without a midnight (every zone, three years either side of the
// reference date), the day starts at its first instant, and the days, weeks and months around
// it are contiguous, have the right dates and lengths, and are what --date of that day resolves
// to.
func TestDaysWithoutMidnight(t *testing.T) {
	zones := noMidnightDays(t)
	// The tz database has them (Havana, Santiago, Asunción, Azores, Beirut… in these years); a
	// test that finds none checks nothing.
	for _, must := range []string{"America/Havana", "America/Santiago"} {
		if len(zones[must]) == 0 {
			t.Fatalf("%s has no day without a midnight between %s and %s: check the time zone database", must,
				tzReference.AddDate(-3, 0, 0).Format(time.DateOnly), tzReference.AddDate(3, 0, 0).Format(time.DateOnly))
		}
	}
	names := make([]string, 0, len(zones))
	for n := range zones {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("zones with days without a midnight: %d (%s)", len(names), strings.Join(names, ", "))
	for _, name := range names {
		l := loc(t, name)
		for _, day := range zones[name] {
			t.Run(name+"/"+day.String(), func(t *testing.T) { checkDayWithoutMidnight(t, l, day) })
		}
	}
}

func checkDayWithoutMidnight(t *testing.T, l *time.Location, day date) {
	// The day and the ones around it start at their first instant, found by brute force.
	for i := -2; i <= 2; i++ {
		d := day.add(i)
		if got, want := d.start(l), firstMinute(d, l); !got.Equal(want) {
			t.Errorf("StartOfDay(%s) = %s; want %s", d, got, want.In(l))
		}
	}
	s := day.start(l)
	if s.In(l).Format("15:04") == "00:00" {
		t.Errorf("StartOfDay(%s) = %s: at midnight, which this day does not have", day, s)
	}

	// Daily periods: contiguous, labelled by their date, each as long as the clocks say.
	var prev Period
	for i := -2; i <= 2; i++ {
		d := day.add(i)
		p := PeriodContaining(Daily, d.start(l).Add(time.Hour), l)
		if !p.Start.Equal(d.start(l)) || !p.End.Equal(d.add(1).start(l)) {
			t.Errorf("day %s: %s .. %s; want %s .. %s", d, p.Start, p.End, d.start(l), d.add(1).start(l))
		}
		if p.Label() != d.String() {
			t.Errorf("day %s: label %s", d, p.Label())
		}
		if got, want := p.Length(), wantLength(1, p.Start, p.End, l); got != want {
			t.Errorf("day %s: %s long; want %s", d, got, want)
		}
		if i > -2 && !prev.End.Equal(p.Start) {
			t.Errorf("day %s starts at %s; the day before ends at %s", d, p.Start, prev.End)
		}
		if !p.Next().Start.Equal(p.End) || !p.Previous().End.Equal(p.Start) {
			t.Errorf("day %s: next starts %s, previous ends %s", d, p.Next().Start, p.Previous().End)
		}
		if days := daysOf(p); len(days) != 1 || !days[0].Equal(p.Start) {
			t.Errorf("day %s: Days() = %v", d, days)
		}
		prev = p
	}
	if got := PeriodContaining(Daily, s, l).Length(); got != 23*time.Hour {
		t.Errorf("day %s: %s long; want 23h (an hour skipped)", day, got)
	}
	// The day before ends at the change: its last instant is still that day.
	if p := PeriodContaining(Daily, s.Add(-time.Nanosecond), l); p.Label() != day.add(-1).String() || !p.End.Equal(s) {
		t.Errorf("the instant before %s is in %v ending %s", s, p, p.End)
	}

	// Weeks and months holding the day: contiguous, the right days, the right length.
	for _, kind := range []PeriodKind{Weekly, Monthly} {
		p := PeriodContaining(kind, s, l)
		var first date
		var n int
		if kind == Weekly {
			back := (int(day.wall().Weekday()) + 6) % 7
			first, n = day.add(-back), 7
		} else {
			first, n = date{day.y, day.m, 1}, DaysIn(day.y, day.m)
		}
		if !p.Start.Equal(first.start(l)) || !p.End.Equal(first.add(n).start(l)) {
			t.Errorf("%v: %s .. %s; want %s .. %s", p, p.Start, p.End, first.start(l), first.add(n).start(l))
		}
		if !p.Contains(s) || p.Contains(p.End) {
			t.Errorf("%v: does not hold %s, or holds its end", p, s)
		}
		if got, want := p.Length(), wantLength(n, p.Start, p.End, l); got != want {
			t.Errorf("%v: %s long; want %s", p, got, want)
		}
		days := daysOf(p)
		if len(days) != n {
			t.Errorf("%v: %d days; want %d", p, len(days), n)
		}
		for i, d := range days {
			if want := first.add(i); !d.Equal(want.start(l)) {
				t.Errorf("%v: day %d is %s; want %s", p, i, d, want.start(l))
			}
		}
		if !p.Next().Start.Equal(p.End) || !p.Previous().End.Equal(p.Start) || !p.Previous().Next().Start.Equal(p.Start) {
			t.Errorf("%v: not contiguous with its neighbours", p)
		}
		back, err := ParseLabel(kind, p.Label(), l)
		if err != nil || !back.Start.Equal(p.Start) || !back.End.Equal(p.End) {
			t.Errorf("ParseLabel(%s) = %v, %v; want %v", p.Label(), back, err, p)
		}
	}

	// --date of the day, and of the days around it, resolves to the period holding that date.
	for i := -1; i <= 1; i++ {
		d := day.add(i)
		for _, kind := range []PeriodKind{Daily, Weekly, Monthly} {
			got, err := ParsePeriod(kind, d.String(), l)
			want := PeriodContaining(kind, d.start(l), l)
			if err != nil || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || !got.Contains(d.start(l)) {
				t.Errorf("ParsePeriod(%s, %s) = %v (%s .. %s), %v; want %v (%s .. %s)", kind, d, got, got.Start, got.End, err, want, want.Start, want.End)
			}
		}
		if got, err := ParseLabel(Daily, d.String(), l); err != nil || got.Label() != d.String() {
			t.Errorf("ParseLabel(daily, %s) = %v, %v", d, got, err)
		}
	}
	// The run of the day after reports this day by default.
	if got := DefaultPeriod(Daily, day.add(1).start(l).Add(9*time.Hour), l); got.Label() != day.String() || !got.Start.Equal(s) {
		t.Errorf("default daily period the day after %s: %v from %s", day, got, got.Start)
	}
}
