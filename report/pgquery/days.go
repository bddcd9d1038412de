package pgquery

import (
	"time"

	"github.com/aispend/aispend/report"
)

// startOfDay is report.StartOfDay: the first instant of a calendar day, which is not always
// midnight.
var startOfDay = report.StartOfDay

// nextDay is the first instant of the calendar day after the one t is in (in loc).
func nextDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return report.StartOfDay(y, m, d+1, loc)
}
