package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
)

// The read API's limits: collect checks a query's parameters against them, Service and
// report.json build their answers with them, collect/openapi.json documents them.
const (
	MaxRangeDays     = 366  // days from..to, inclusive
	DefaultRangeDays = 30   // from defaults to 29 days before to
	DefaultLimit     = 10   // rows per breakdown before the "other" row: the pages' top N
	MaxLimit         = 1000 // GET /v1/top's limit: every shown row costs a latency histogram
)

// Date is a calendar date in the report time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// UTC is the date's first instant in UTC, for counting days between dates without a time
// zone's shifts.
func (d Date) UTC() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Query is a valid query of the read API, as collect parsed it: From ≤ To, at most MaxRangeDays
// days.
type Query struct {
	From, To  Date
	Dimension string // GET /v1/top: a dimension's name (DimensionNames)
	Limit     int    // GET /v1/top: 1 to MaxLimit
}

// Period is the query's dates in loc: from the first instant of From to the first instant of
// the day after To.
func (q Query) Period(loc *time.Location) report.Period {
	return report.Period{Kind: report.Daily,
		Start: report.StartOfDay(q.From.Year, q.From.Month, q.From.Day, loc),
		End:   report.StartOfDay(q.To.Year, q.To.Month, q.To.Day+1, loc)}
}

// DimensionName is the name the read API and report.json give a breakdown dimension: service,
// model, provider, org, user, endpoint, tag:<key>.
func DimensionName(dim report.Dimension) string { return strings.TrimSuffix(string(dim), "_id") }

// DimensionNames are the names of report.Dimensions, in report order, then of the chargeback
// dimensions of tagKeys (the configured reports.tag_keys).
func DimensionNames(tagKeys []string) []string {
	var names []string
	for _, d := range append(append([]report.Dimension(nil), report.Dimensions...), report.ChargebackDimensions(tagKeys)...) {
		names = append(names, DimensionName(d))
	}
	return names
}

// DimensionOf is the breakdown of an API dimension name ("user", "org", "service", "model",
// "provider", "endpoint", "tag:<key>" of a key in tagKeys; the event fields' names "org_id" and
// "user_id" too); false for any other name, a tag key not configured included.
func DimensionOf(name string, tagKeys []string) (report.Dimension, bool) {
	for _, d := range append(append([]report.Dimension(nil), report.Dimensions...), report.ChargebackDimensions(tagKeys)...) {
		if name == DimensionName(d) || name == string(d) {
			return d, true
		}
	}
	return "", false
}
