package email

// This file holds the view of the alert email; render.go executes its markup.

// alertView is the view of a budget alert email: every field is already formatted text; the
// HTML template escapes each of them.
type alertView struct {
	Budget   string
	Severity string // INFO | WARNING | CRITICAL
	Forecast bool   // an estimate of the period-end spend, not the spend so far
	BurnRate bool   // at the pace of the last hours the budget runs out before the period ends
	// Runway is when the budget runs out at that pace ("Mon 21 Dec 2026 03:15 KST"), for every
	// alert whose status has one; empty: the pace does not exhaust the budget this period.
	Runway      string
	Threshold   int    // percent
	Period      string // "daily 2025-10-01"
	PeriodRange string // "2025-10-01 00:00 – 2025-10-02 00:00 Asia/Seoul"
	ResetsAt    string // when the next period starts; empty once the period is over
	EndedAt     string // the period had ended when the alert was sent: when it ended; else empty
	Scope       string // "all events" or "service=QA_CHAT"
	Spent       string
	Limit       string
	Remaining   string // the limit minus the spend; "₩0" once over it
	// Over is how far the spend is over the limit ("₩10,000"); empty while within it. The
	// figure then reads "Over by" instead of "Remaining ₩0", and the headline says how far.
	Over string
	// PastThreshold: the spend has gone past the alert's threshold (not just reached it), so the
	// headline names the actual percent instead of the threshold.
	PastThreshold bool
	Percent       string // "80.0 %"
	// SubjectPercent is the figure of the subject: Percent, or for a forecast the projected
	// period end against the limit.
	SubjectPercent string
	Projected      string // forecast period-end spend, when known
	Unpriced       string // events in scope without a price (not in Spent), "1,234"; "0": none
	BarPercent     int    // 0..100, the filled part of the progress bar
	Drivers        []driverTable
	Actions        []string // shown for CRITICAL
	ReportURL      string   // the period page; empty: no link
	WorkbookURL    string   // the period's workbook; empty: no link
	LocalLinks     bool     // the links are file:// URLs: no public URL is configured
	Also           []string // lower thresholds this email stands for, "50 %"
	AsOf           string
}

// driverTable is one "top …" table of an alert (the budget's drivers) or a digest (the top
// services, models and users): the "driver_table" partial (email/drivers.html) draws it.
type driverTable struct {
	Title string
	Rows  []driverRow
	Empty string // shown instead of rows when there are none
}

// driverRow is one line of a driverTable.
type driverRow struct {
	Name     string
	Cost     string
	Requests string
	Share    string // of the budget's spend, "42.0 %"
}

// Bar is the alert's progress bar, in the severity's colour.
func (a alertView) Bar() progressBar { return newBar(a.BarPercent, a.Color()) }

// Color is the severity's colour.
func (a alertView) Color() string {
	switch a.Severity {
	case "CRITICAL":
		return "#b91c1c"
	case "WARNING":
		return "#b45309"
	default:
		return "#1d4ed8"
	}
}
