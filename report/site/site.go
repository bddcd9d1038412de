// Package site renders the static HTML report site: one page per period
// (daily/2025-10-01/index.html, weekly/2025-W40/index.html, monthly/2025-10/index.html), the
// landing page index.html, and the files published under assets/ (the chart library, its
// licences, the stylesheet and the small chart bootstrap script).
//
// Callers fill the view structs below (PeriodPage, IndexPage) with computed statistics; this
// package only formats and lays them out. Money stays decimal.Decimal until it is formatted with
// report/format; chart values become float64 only inside the chart options.
//
// Escaping: pages are html/template output, so every string is escaped for its context. Chart
// options are built with go-echarts but never rendered with its own template (which writes labels
// unescaped into a <script>, a proven XSS): they are marshalled with encoding/json, whose HTML
// escaping turns <, > and & into \u003c, \u003e and \u0026, and placed in a
// <script type="application/json"> block that the shared assets/site.js reads with JSON.parse.
// The go-echarts "__f__" function marker is neutralised in every chart label as well, so that
// the options stay safe even if someone later renders them with go-echarts' own template.
package site

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// labelPatterns are the period labels (report.Period.Label) of each kind, which is a top-level
// folder of the site. A label becomes part of a path and a link, so anything else is refused.
var labelPatterns = map[report.PeriodKind]*regexp.Regexp{
	report.Daily:   regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`),
	report.Weekly:  regexp.MustCompile(`^\d{4}-W\d{2}$`),
	report.Monthly: regexp.MustCompile(`^\d{4}-\d{2}$`),
}

// Period identifies one report. Its methods are the one place the site's layout is written:
// where a period's page, workbook and events CSV are published, and how a page's key reads back.
type Period struct {
	Kind  report.PeriodKind
	Label string    // "2025-10-01" (daily), "2025-W40" (ISO week), "2025-10" (monthly)
	Start time.Time // first instant of the period in the report's time zone
	End   time.Time // first instant after the period (exclusive)
}

// Validate reports whether the period can name a page.
func (p Period) Validate() error {
	re, ok := labelPatterns[p.Kind]
	if !ok {
		return fmt.Errorf("period kind %q is not daily, weekly or monthly", p.Kind)
	}
	if !re.MatchString(p.Label) {
		return fmt.Errorf("%s period label %q does not match %s", p.Kind, p.Label, re)
	}
	if !p.End.After(p.Start) {
		return fmt.Errorf("period %s/%s: end %s is not after start %s", p.Kind, p.Label, p.End, p.Start)
	}
	return nil
}

// KindDir is the folder of a kind's periods in the site, e.g. "daily/".
func KindDir(k report.PeriodKind) string { return string(k) + "/" }

// Dir is the period's folder in the site, e.g. "daily/2025-10-01".
func (p Period) Dir() string { return KindDir(p.Kind) + p.Label }

// File is the key of the file name beside the period's page, e.g. "daily/2025-10-01/report.json".
func (p Period) File(name string) string { return p.Dir() + "/" + name }

// PagePath is the period page's key in the site, e.g. "daily/2025-10-01/index.html".
func (p Period) PagePath() string { return p.File(pageName) }

const pageName = "index.html"

// ParsePagePath reads a period page's key (PagePath) back into its kind and label; ok is false
// for any other key. The label is not checked against the calendar (report.ParseLabel does).
func ParsePagePath(key string) (kind report.PeriodKind, label string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || parts[2] != pageName {
		return "", "", false
	}
	kind = report.PeriodKind(parts[0])
	if _, known := labelPatterns[kind]; !known {
		return "", "", false
	}
	return kind, parts[1], true
}

// WorkbookPath is the workbook's key in the site, beside the page.
func (p Period) WorkbookPath() string { return p.File(p.WorkbookName()) }

// EventsCSVPath is the events CSV's key in the site, beside the page.
func (p Period) EventsCSVPath() string { return p.File(p.EventsCSVName()) }

// FocusCSVPath is the FOCUS file's key in the site, beside the page.
func (p Period) FocusCSVPath() string { return p.File(p.FocusCSVName()) }

// FocusCSVName is the file name of the period's FinOps FOCUS cost-and-usage CSV (gzip) beside the
// page, e.g. "aispend-daily-2025-10-01-focus.csv.gz".
func (p Period) FocusCSVName() string {
	return "aispend-" + string(p.Kind) + "-" + p.Label + "-focus.csv.gz"
}

// ManifestPath is the key of the period's manifest.json, beside the page.
func (p Period) ManifestPath() string { return p.File(ManifestName) }

// ManifestName is the file name of a period's manifest (report/artifact.Manifest).
const ManifestName = "manifest.json"

// WorkbookName is the workbook's file name beside the page, e.g. "aispend-daily-2025-10-01.xlsx".
func (p Period) WorkbookName() string { return "aispend-" + string(p.Kind) + "-" + p.Label + ".xlsx" }

// EventsCSVName is the file name of the period's events as gzip-compressed CSV beside the
// page, e.g. "aispend-daily-2025-10-01-events.csv.gz".
func (p Period) EventsCSVName() string {
	return "aispend-" + string(p.Kind) + "-" + p.Label + "-events.csv.gz"
}

// PeriodPage is everything one period page shows.
type PeriodPage struct {
	Title       string         // page heading; "AI spend report" when empty
	Period      Period         //
	Currency    string         // ISO 4217 code of the reporting currency, e.g. "USD", "KRW"
	Location    *time.Location // report time zone; every time is shown in it and its name is stated
	GeneratedAt time.Time      // when the batch job rendered the page

	KPIs      KPIs
	Latency   []ServiceLatency // per service, shown in the given order
	Budgets   []BudgetCard     // shown in the given order
	Envelopes []EnvelopeCard   // envelope budgets' entities, shown in the given order
	DailyCost []DayCost        // the daily cost line: normally the 30 days ending with the period
	Services  []CostShare      // service breakdown (pie), largest first is best
	Models    []CostShare      // model breakdown (bar); beyond 12 models the rest is one bar
	TopUsers  []Spender        // table, shown in the given order
	TopOrgs   []Spender        // table, shown in the given order
	// Chargeback are the tables by endpoint and by each configured tag key, in the given order.
	Chargeback []ChargebackTable
	Alerts     []Alert // alert history timeline, shown newest first

	// Workbook is the workbook's file name relative to the page (normally
	// Period.WorkbookName()); empty means no workbook link.
	Workbook string
	// EventsCSV is the file name of the period's events as CSV relative to the page (normally
	// Period.EventsCSVName()); empty means no link.
	EventsCSV string
	// FocusCSV is the file name of the period's FOCUS CSV relative to the page (normally
	// Period.FocusCSVName()); empty means no link.
	FocusCSV string

	// Rates are the exchange rates amounts were converted with, stated in the footer.
	Rates []Rate

	// Anomalies are the period's anomalies (report.Anomaly.Summary), largest impact first, with
	// the status of their email.
	Anomalies []AnomalyLine

	// Previous are the previous period's KPIs (over the same elapsed part while this period is in
	// progress), shown as the change of each KPI; nil: no comparison. CompareLabel names it
	// (report.Versus.Label), e.g. "vs 27 Nov" or "vs 1–3 Nov (same 3 days)".
	Previous     *KPIs
	CompareLabel string
	// CompareBasis is the comparison's basis (report.VersusOf): partial, the changes have no
	// percentage; none, no change is shown and CompareLabel says why.
	CompareBasis report.Basis
	// BudgetSummaries sum up the budgets of a shorter period than the page's, one line each:
	// "daily-total: exceeded on 3 of 30 days".
	BudgetSummaries []string
	// CacheSavings is what prompt-cache reads saved against the uncached input price; not valid:
	// not known, no KPI.
	CacheSavings decimal.NullDecimal
	// Progress labels a period in progress ("month to date, 3 of 31 days"); empty once it is
	// over. Forecast is then the projected period-end cost, when there is one.
	Progress string
	Forecast decimal.NullDecimal
	// Spikes are the days of DailyCost whose cost is above twice the median of the 30 days
	// before: marked on the chart and listed under it.
	Spikes []Spike
	// UnpricedModels are the models of the period's events without a price.
	UnpricedModels []UnpricedModel
}

// Spike is a day whose cost is above twice the median of the 30 days before it.
type Spike struct {
	Day    time.Time
	Cost   decimal.Decimal
	Median decimal.Decimal
}

// UnpricedModel is a model whose events have no price: counted, but not in the cost totals.
type UnpricedModel struct {
	Model, Provider string
	Events          int64
	InputTokens     int64
	OutputTokens    int64
	TokensKnown     bool // false when the events are gone (retention) and only their count is known
}

// Change is a row's value in the previous period, for its change column.
type Change struct {
	Known bool // false: no comparison is shown
	New   bool // the key had nothing in the previous period
	Cost  decimal.Decimal
}

// Rate is one exchange rate into the reporting currency: 1 Currency = Value reporting units.
type Rate struct {
	Currency string
	Value    decimal.Decimal
	Since    string // YYYY-MM-DD when the rate was set; may be empty
}

// KPIs are the headline numbers of a period.
type KPIs struct {
	TotalCost         decimal.Decimal // sum of priced events' cost
	AvgCostPerRequest decimal.Decimal // as computed by the caller (e.g. total cost / priced requests)
	Requests          int64           // all events in the period
	Successes         int64           // events with success = true (success rate = Successes/Requests)
	CacheHits         int64           // events with cache_hit = true (cache-hit rate = CacheHits/Requests)
	Unpriced          int64           // events whose cost is unknown (cost IS NULL)
}

// ServiceLatency is one service's latency percentiles over events that reported a duration.
type ServiceLatency struct {
	Service string
	Samples int64 // events with a duration; 0 shows "no data"
	P50     time.Duration
	P95     time.Duration
}

// BudgetState is a budget's status as decided by the budget check.
type BudgetState string

// Budget states: below every threshold, then the INFO / WARNING / CRITICAL thresholds, then
// spent above the limit.
const (
	StateOK       BudgetState = "ok"
	StateInfo     BudgetState = "info"
	StateWarning  BudgetState = "warning"
	StateCritical BudgetState = "critical"
	StateExceeded BudgetState = "exceeded"
)

func (s BudgetState) valid() bool {
	switch s {
	case StateOK, StateInfo, StateWarning, StateCritical, StateExceeded:
		return true
	}
	return false
}

// BudgetCard is one budget's current status. The percentage shown is Spent/Limit, computed
// exactly here; the State (colour and badge) is the caller's decision.
type BudgetCard struct {
	Name   string
	Scope  string // human description of the filter, e.g. "service = QA_CHAT"; empty = all spend
	Window report.PeriodKind
	Spent  decimal.Decimal
	Limit  decimal.Decimal
	// Remaining and Over are report.Evaluate's (Status.Remaining, Status.Over), at most one of
	// them positive: the page states them, it never subtracts Spent from Limit itself.
	Remaining, Over decimal.Decimal
	State           BudgetState
	ResetsAt        time.Time // start of the next budget window
	// AsOf is the instant the figures stand at (a past period's end, or the run's time); zero:
	// not stated.
	AsOf time.Time
	// Forecast is the projected period-end spend as of AsOf (report.Status.Projection), set
	// while the period is open; ForecastEstimate marks the early run rate of a young period.
	Forecast         decimal.NullDecimal
	ForecastEstimate bool
	// Runway is when the budget runs out at the pace of the last hours (report.Status.Runway);
	// zero: that pace does not exhaust it within the period.
	Runway time.Time
}

// EnvelopeCard is an envelope budget (a budget per user, organisation, endpoint or tag value)
// on a page: how many entities spent, how many are at or over their envelope, and a table of
// the entities nearest to or over it (report.SummarizeEntities).
type EnvelopeCard struct {
	Budget   string
	Per      string // the field: "user_id", "org_id", "endpoint", "tag:team"
	Noun     string // what one entity is called (report.Per.Noun): "user", "team value"
	Count    int
	Exceeded int
	Entities []EntityLine // nearest to or over their envelope first
}

// EntityLine is one entity's envelope: report.EvaluateEntity's figures, which the page states
// and never recomputes.
type EntityLine struct {
	Entity          string
	Spent, Limit    decimal.Decimal
	Remaining, Over decimal.Decimal
	Percent         decimal.Decimal
	State           BudgetState
}

// DayCost is one point of the daily cost line.
type DayCost struct {
	Day  time.Time // any instant of the day, in the report time zone
	Cost decimal.Decimal
	// NoData: no event that day; the line has a gap there instead of a zero.
	NoData bool
	// Partial: the day is in progress at the run (today): its cost so far, drawn dashed and
	// labelled "so far", not like a whole day.
	Partial bool
}

// CostShare is one slice of a breakdown (service or model).
type CostShare struct {
	Name     string
	Cost     decimal.Decimal
	Requests int64
	Members  int  // > 0: the "(other)" row, which sums this many values
	Unpriced bool // every event of the row lacks a price: its cost shows as "unpriced", not 0
	Previous Change
}

// Spender is one row of the top users / top organisations tables.
// ChargebackTable is the top of one chargeback dimension: its title ("endpoint", "tag team"),
// the plural noun its "(other)" row counts ("endpoints", "values"), the label of the row of
// events without a value ("(no endpoint)", "(untagged)"), and its rows as Spenders (ID the value).
type ChargebackTable struct {
	Title, Noun, None string
	Rows              []Spender
}

type Spender struct {
	ID       string // user_id or org_id; "" shows as "(none)"
	Cost     decimal.Decimal
	Requests int64
	Members  int // > 0: the "(other)" row, which sums this many values
	Unpriced bool
	Previous Change
}

// AlertKind tells whether an alert fired on actual spend or on the period-end forecast.
type AlertKind string

// Alert kinds.
const (
	AlertActual   AlertKind = "actual"
	AlertForecast AlertKind = "forecast"
	// AlertBurnRate: at the pace of the last hours the budget ran out before its period's end.
	AlertBurnRate AlertKind = "burn_rate"
)

// Alert is one entry of the alert history.
type Alert struct {
	At        time.Time       // when the alert was raised
	Budget    string          // budget name
	Threshold int             // percent of the limit, e.g. 80
	Severity  BudgetState     // info, warning, critical or exceeded
	Kind      AlertKind       // actual, forecast or burn_rate
	Status    string          // delivery status from the alert ledger, e.g. "sent", "pending"
	Amount    decimal.Decimal // spend (or forecast) that crossed the threshold; zero hides it
	Period    string          // the budget period the alert belongs to, e.g. "daily 2026-11-28"
}

// IndexPage is the landing page: current budget status and every published period.
type IndexPage struct {
	Title       string // page heading; "AI spend reports" when empty
	Currency    string
	Location    *time.Location
	GeneratedAt time.Time
	Budgets     []BudgetCard
	Reports     []PublishedReport // any order: grouped by kind and sorted newest first here
	Rates       []Rate            // stated in the footer
	// Spend is the headline: the month in progress to date; nil: not shown.
	Spend *SpendHeadline
}

// SpendHeadline is the landing page's headline: the spend of the month in progress to date,
// compared as its page compares it, and the daily cost of recent days as its trend.
type SpendHeadline struct {
	Month    Period          // the month in progress
	Progress string          // "month to date, 7 of 31 days"
	Cost     decimal.Decimal // spent so far
	// Previous is the cost the month is compared with (report.Comparison), nil: none;
	// CompareLabel and CompareBasis as on the period page.
	Previous     *decimal.Decimal
	CompareLabel string
	CompareBasis report.Basis
	// Days are the recent days, oldest first, the last one (today) Partial.
	Days []DayCost
}

// PublishedReport is a link to one published period page.
type PublishedReport struct {
	Period   Period
	Workbook string // workbook file name inside the period folder; empty = no link
}

// AnomalyLine is one anomaly on the period page.
type AnomalyLine struct {
	Summary string // report.Anomaly.Summary
	Status  string // pending | sent | stale; "" without an email
}
