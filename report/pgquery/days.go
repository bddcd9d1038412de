package pgquery

import "time"

// startOfDay is the first instant of calendar day (y, m, d) in loc (normalised like time.Date).
// It is not always midnight: where a daylight-saving change skips midnight the day begins at
// 01:00, and time.Date(…, 0, 0, 0, 0, loc) would give the previous day's 23:00.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if sameDate(t, want) {
		return t
	}
	// Midnight does not exist: the day starts at a zone transition between t and noon. Find the
	// first second whose date is the wanted one (transitions fall on whole seconds).
	lo, hi := t.Unix(), time.Date(y, m, d, 12, 0, 0, 0, loc).Unix()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if before(time.Unix(mid, 0).In(loc), want) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return time.Unix(lo, 0).In(loc)
}

// nextDay is the first instant of the calendar day after the one t is in (in loc).
func nextDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return startOfDay(y, m, d+1, loc)
}

func sameDate(t, date time.Time) bool {
	y, m, d := t.Date()
	return y == date.Year() && m == date.Month() && d == date.Day()
}

// before reports whether t's calendar date is before date's.
func before(t, date time.Time) bool {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Before(date)
}
