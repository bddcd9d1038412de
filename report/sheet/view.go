package sheet

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Rate is one exchange rate: 1 Currency = Value units of the workbook's currency.
type Rate struct {
	Currency string
	Value    decimal.Decimal
	Since    string // YYYY-MM-DD when the rate was set; may be empty
}

// Workbook is everything one period's workbook shows. Amounts are exact decimals in Currency;
// they become float64 only as the value of a spreadsheet cell. Derived figures (rates, shares,
// averages, remaining budget, totals rows) are computed here, in decimal, from these inputs.
type Workbook struct {
	Currency    string         // ISO 4217 code of every amount, e.g. "KRW"
	Location    *time.Location // the report's time zone; every date is shown in it
	Period      Period
	GeneratedAt time.Time
	// Progress names a period still in progress ("month to date, 7 of 31 days"), as the page
	// states it (report.Progress); empty: the period is over. AsOf is the instant its figures
	// stand at while in progress. Daily then lists only the days up to AsOf.
	Progress string
	AsOf     time.Time

	Summary  Summary
	Daily    []DailyRow     // one row per day of the period, oldest first
	Services []BreakdownRow // By service, in the order given (usually cost, descending)
	Models   []BreakdownRow // By model
	Users    []BreakdownRow // By user
	Orgs     []BreakdownRow // By org
	// Chargeback are the sheets by endpoint and by each configured tag key, after By org: every
	// value, in the order given.
	Chargeback []ChargebackSheet
	Budgets    []BudgetRow
	Alerts     []AlertRow
	Rates      []Rate // exchange rates into Currency, stated on the Summary sheet

	// Events streams every event of the period, in the order the rows should appear. Write calls
	// it once; it calls emit for each event and returns emit's error as soon as emit fails. A nil
	// Events gives an Events sheet with only its header.
	Events func(emit func(report.Event) error) error

	// EventsCSV is the file name of the period's events as gzip-compressed CSV (see EventsCSV
	// the type), published beside the workbook; the Summary sheet links it. Empty: no CSV.
	EventsCSV string
	// EventsOmitted, when set, says why the Events sheet lists no events (e.g. "This period
	// has 1,234,567 events, more than the 200,000 a workbook lists."). The sheet then holds
	// that sentence and where the CSV is, as one row, and Events is not called. It requires
	// EventsCSV.
	EventsOmitted string
	// FocusCSV is the file name of the period's FinOps FOCUS CSV (see FocusCSV the type),
	// published beside the workbook; the Summary sheet links it. Empty: none.
	FocusCSV string

	// Entities are every entity of every envelope budget, for the Envelopes sheet
	// (entities.go); none: no such sheet.
	Entities []EntityRow
}

// Period is the reporting period, half-open: [Start, End).
type Period struct {
	Label string // e.g. "2025-06" or "2025-W23"
	Start time.Time
	End   time.Time
}

// Summary holds the period's totals.
type Summary struct {
	TotalCost decimal.Decimal // priced events only
	Requests  int64
	Successes int64
	CacheHits int64
	Unpriced  int64 // events with no cost (no price known)
	// AvgCost is the average cost per priced request as the report computed it
	// (report.Totals.AvgCost); not valid: no priced request, and the cell is blank.
	AvgCost decimal.NullDecimal
	Tokens  Tokens
	Latency *Latency // nil when no event carried a duration
	// CacheSavings is what prompt-cache reads saved against the uncached input price; not valid:
	// not known (no price table), and the row is left out.
	CacheSavings decimal.NullDecimal
	// UnpricedModels name the models without a price, e.g. "mystery (anthropic): 30 events,
	// 30,000 input and 3,000 output tokens".
	UnpricedModels []string
}

// Tokens counts tokens by kind. Input includes cached input.
type Tokens struct {
	Input      int64
	Output     int64
	CacheRead  int64
	CacheWrite int64
	Reasoning  int64
}

// Latency holds duration percentiles in milliseconds.
type Latency struct {
	P50, P95, P99 float64
}

// Counts are what a day and a breakdown row both count, and their sheets total.
type Counts struct {
	Requests  int64
	Failures  int64
	CacheHits int64
	Unpriced  int64
	Cost      decimal.Decimal
	Tokens    Tokens
}

// plus is c and o added up.
func (c Counts) plus(o Counts) Counts {
	return Counts{Requests: c.Requests + o.Requests, Failures: c.Failures + o.Failures, CacheHits: c.CacheHits + o.CacheHits,
		Unpriced: c.Unpriced + o.Unpriced, Cost: c.Cost.Add(o.Cost), Tokens: c.Tokens.plus(o.Tokens)}
}

// DailyRow is one calendar day in the report's time zone.
type DailyRow struct {
	Day time.Time // any instant within the day; shown as the date in Workbook.Location
	// Partial marks the day in progress at Workbook.AsOf: its figures are the day so far.
	Partial bool
	Counts
}

// BreakdownRow is one service, model, user or organisation.
type BreakdownRow struct {
	Name string // shown as "(none)" when empty
	Counts
	Latency *Latency // optional
}

// BudgetRow is one budget's state for its current period.
type BudgetRow struct {
	Name   string
	Scope  string // e.g. "service=QA_CHAT", "all events"
	Period string // e.g. "monthly 2025-06"
	Limit  decimal.Decimal
	Spent  decimal.Decimal
	// Remaining and Over are report.Evaluate's (Status.Remaining, Status.Over), at most one of
	// them positive; the Remaining column shows an overrun as a negative amount.
	Remaining, Over decimal.Decimal
	Forecast        decimal.NullDecimal // projected period-end spend, when forecasting
	State           string              // e.g. "ok", "warning", "exceeded"
	AsOf            time.Time           // the instant the figures stand at; zero: blank
}

// remaining is the Remaining column's value: what is left, or the overrun as a negative amount.
func (r BudgetRow) remaining() decimal.Decimal {
	if r.Over.IsPositive() {
		return r.Over.Neg()
	}
	return r.Remaining
}

// AlertRow is one alert from the alert ledger.
type AlertRow struct {
	At        time.Time
	Budget    string
	Period    string // the budget period the alert belongs to, e.g. "daily 2025-06-01"
	Threshold int    // percent, e.g. 80
	Severity  string
	Kind      string // "actual" or "forecast"
	Status    string // e.g. "sent", "pending"
}

// ChargebackSheet is a breakdown sheet by endpoint or by a tag key: its name ("By endpoint",
// "By tag team"), the heading of its first column and its rows, the label of the row without a
// value ("(no endpoint)", "(untagged)") given as its Name.
type ChargebackSheet struct {
	Name, Column string
	Rows         []BreakdownRow
}
