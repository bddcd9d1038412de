package email

import "strings"

// This file holds the view of the digest email; render.go executes its markup.

// digestView is the view of the digest email sent after each run: every field is already
// formatted text (newDigestView makes it); the HTML template escapes each of them.
type digestView struct {
	Kind        string // "Daily", "Weekly", "Monthly"
	Period      string // the period label, "2025-06-01", "2025-W23", "2025-06"
	PeriodRange string // "2025-06-01 00:00 – 2025-06-02 00:00"; empty: not shown
	TimeZone    string // "Asia/Seoul"
	AsOf        string // when the run made it; empty: not shown
	Preheader   string // the preview line mail clients show under the subject
	Attention   string // "1 budget exceeded, 2 at warning"; empty when all is well

	Cost       string      // total cost, the first number of the email
	CostScope  string      // "month to date, 10 of 30 days" for a period in progress; empty: over
	CostChange string      // "+12.3 % vs the previous period (₩1,100)"; empty: not shown
	KPIRows    [][]kpiView // none when NoRequests
	NoRequests bool        // the period has no requests: said instead of the key numbers
	Unpriced   string      // events without a price (not in Cost), "1,234"; empty: none

	// Sections are short lists after the key numbers: biggest movers, spike days, unpriced
	// models, prompt-cache savings; each is shown only when it has lines.
	Sections []digestSection

	Budgets   []digestBudget
	Envelopes []digestEnvelope
	Alerts    []digestAlert
	Tops      []driverTable // top services, models, users

	PageURL     string // absolute; empty: no link
	WorkbookURL string // absolute, possibly presigned; empty: no link
	EventsURL   string // the events CSV; absolute, possibly presigned; empty: no link
	FocusURL    string // the FOCUS CSV; absolute, possibly presigned; empty: no link
	LocalLinks  bool   // the links are file:// URLs: no public URL is configured
	Workbook    workbookNote
}

// digestSection is a titled list of lines, e.g. "Biggest movers".
type digestSection struct {
	Title string
	Lines []string
}

// kpiView is one key number.
type kpiView struct {
	Label string
	Value string
	Note  string // e.g. the change vs the previous period; may be empty
}

// digestBudget is one budget's status line with its bar.
type digestBudget struct {
	Name     string
	Period   string // the budget's own period, "monthly 2025-06"; may be empty
	State    string // ok | info | warning | critical | exceeded
	Spent    string
	Limit    string
	Percent  string // "80.0 %"
	ResetsAt string // empty: not shown
	AsOf     string // "28 Nov 2026, 24:00": the instant the figures stand at; empty: not shown
	Filled   int    // bar percent, clamped by Bar
	// Forecast is the projected period-end spend ("₩1,837"); empty: not shown. Estimate marks
	// the early run rate of a young period, ForecastOver a forecast above the limit.
	Forecast     string
	Estimate     bool
	ForecastOver bool
	Runway       string // "Mon 7 Dec 2026 18:00": when it runs out at the pace of the last hours; empty: not shown
}

// digestEnvelope is an envelope budget's summary and its nearest entities.
type digestEnvelope struct {
	Budget, Per, Period, Summary string
	Rows                         []digestEntity
}

// digestEntity is one entity's line: spent of its envelope, percent, what is left or over.
type digestEntity struct {
	Entity, State, Spent, Limit, Percent, Left string
}

// StateLabel is the state as shown: "OK", "WARNING", ….
func (e digestEntity) StateLabel() string { return strings.ToUpper(e.State) }

// Color is the state's colour.
func (e digestEntity) Color() string { return stateColor(e.State) }

// StateLabel is the state as shown: "OK", "WARNING", …
func (b digestBudget) StateLabel() string { return strings.ToUpper(b.State) }

// Color is the state's colour.
func (b digestBudget) Color() string { return stateColor(b.State) }

// Bar is the budget's progress bar in the state's colour.
func (b digestBudget) Bar() progressBar { return newBar(b.Filled, b.Color()) }

// digestAlert is one alert recorded for the period.
type digestAlert struct {
	Severity string // INFO | WARNING | CRITICAL
	Text     string // "Budget “team-a” reached 80 % (monthly 2025-06)"
}

// Color is the severity's colour, as in the alert email.
func (a digestAlert) Color() string { return stateColor(strings.ToLower(a.Severity)) }

// workbookNote says whether the workbook is attached, or why not.
type workbookNote struct {
	Attached bool
	TooLarge bool   // attachment was asked for but the file is over the cap
	Filename string // when Attached or TooLarge
	Size     string // "7.3 MB"
	Cap      string // "5 MB", when TooLarge
}

// The palette is fixed here: no colour ever comes from data.
func stateColor(state string) string {
	switch state {
	case "ok":
		return "#15803d"
	case "info":
		return "#1d4ed8"
	case "warning":
		return "#b45309"
	case "critical":
		return "#b91c1c"
	case "exceeded":
		return "#7f1d1d"
	default:
		return "#4b5563"
	}
}

// renderDigest renders the digest's subject, plain-text body and HTML body.
func renderDigest(v digestView) (subject, text, html string, err error) {
	return digestTemplates().render(v)
}
