// Package api is the JSON of the read API (GET /v1/stats, /v1/daily, /v1/top, /v1/alerts), of
// GET /v1/budgets and of the report.json published beside every period page: the one home of
// these wire types, which collect's HTTP layer and report/artifact share. All are built here from
// the same report.Report that the pages, workbooks and digests are made of (report/pgquery's
// Report: the daily rollups, brought up to date first), so every number is the same as the
// page's to the last unit. Money is an exact decimal string in the reporting currency; dates and
// times are in the report time zone.
//
// It imports report and nothing of collect, so that collect (the HTTP layer) can import it:
// report/pgquery → collect/pgstore → collect → report/api → report has no cycle as long as the
// read side's store stays behind the Source interface.
package api

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Range is the header of every answer: the dates asked for and what they cover.
type Range struct {
	From     string    `json:"from"` // first day, YYYY-MM-DD in the report time zone
	To       string    `json:"to"`   // last day, inclusive
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"` // exclusive: the first instant after the last day
	Timezone string    `json:"timezone"`
	Currency string    `json:"currency"`
	// Complete is false while the range is still in progress (or lies in the future) as of AsOf.
	Complete bool      `json:"complete"`
	AsOf     time.Time `json:"as_of"`
}

func rangeOf(p report.Period, currency string, asOf time.Time) Range {
	loc := p.Start.Location()
	return Range{
		From: p.Start.Format(time.DateOnly), To: p.End.Add(-time.Nanosecond).In(loc).Format(time.DateOnly),
		Start: p.Start, End: p.End.In(loc), Timezone: loc.String(), Currency: currency,
		Complete: !asOf.Before(p.End), AsOf: asOf.In(loc),
	}
}

// Tokens are the token counts of a set of events.
type Tokens struct {
	Input      int64 `json:"input"` // includes cache reads and writes
	Output     int64 `json:"output"`
	CacheRead  int64 `json:"cache_read"`
	CacheWrite int64 `json:"cache_write"`
	Reasoning  int64 `json:"reasoning"`
}

// Latency summarises the durations reported, from the same histogram as the pages (each
// percentile within about ±10 %).
type Latency struct {
	Samples int64 `json:"samples"`
	MeanMS  int64 `json:"mean_ms"`
	P50MS   int64 `json:"p50_ms"`
	P95MS   int64 `json:"p95_ms"`
	P99MS   int64 `json:"p99_ms"`
}

// Totals are the numbers of a set of events: the whole range, one breakdown row or one day.
type Totals struct {
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	Failures  int64 `json:"failures"`
	CacheHits int64 `json:"cache_hits"`
	// Unpriced events are counted in requests, not in cost.
	Unpriced int64  `json:"unpriced_events"`
	Cost     string `json:"cost"`
	// AvgCostPerRequest is over priced requests, to 6 decimals.
	AvgCostPerRequest string  `json:"avg_cost_per_request"`
	SuccessRate       string  `json:"success_rate"`   // percent, 2 decimals
	CacheHitRate      string  `json:"cache_hit_rate"` // percent, 2 decimals
	Tokens            Tokens  `json:"tokens"`
	Latency           Latency `json:"latency"`
}

func totalsOf(t report.Totals) Totals {
	return Totals{
		Requests: t.Requests, Successes: t.Successes(), Failures: t.Failures, CacheHits: t.CacheHits,
		Unpriced: t.Unpriced, Cost: t.Cost.String(), AvgCostPerRequest: t.AvgCost().String(),
		SuccessRate: t.SuccessRate().StringFixed(2), CacheHitRate: t.CacheHitRate().StringFixed(2),
		Tokens: Tokens{Input: t.InputTokens, Output: t.OutputTokens, CacheRead: t.CacheReadTokens,
			CacheWrite: t.CacheWriteTokens, Reasoning: t.ReasoningTokens},
		Latency: Latency{Samples: t.Latency.Count(), MeanMS: t.AvgLatencyMS(), P50MS: t.Latency.Percentile(0.50),
			P95MS: t.Latency.Percentile(0.95), P99MS: t.Latency.Percentile(0.99)},
	}
}

// Row is one line of a breakdown. Key "" is the events without a value (label "(none)"); the
// row with Other sums every value past the top N (label "(other)"), so a breakdown adds up
// exactly to the total.
type Row struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Other bool   `json:"other"`
	// Share is the row's part of the range's cost, percent to 2 decimals.
	Share string `json:"share"`
	Totals
}

func rowsOf(dim report.Dimension, rows []report.Row, total decimal.Decimal) []Row {
	out := []Row{}
	for _, r := range rows {
		share := decimal.Zero
		if total.IsPositive() {
			share = r.Cost.Mul(decimal.NewFromInt(100)).DivRound(total, 2)
		}
		out = append(out, Row{Key: r.Key, Label: r.LabelIn(dim), Other: r.Other, Share: share.StringFixed(2), Totals: totalsOf(r.Totals)})
	}
	return out
}

// Stats is GET /v1/stats: the range's totals and its breakdowns by service, model and provider
// (the top DefaultLimit of each by cost, then "other").
type Stats struct {
	Range
	Totals    Totals `json:"totals"`
	Services  []Row  `json:"services"`
	Models    []Row  `json:"models"`
	Providers []Row  `json:"providers"`
}

// StatsOf is the stats of a report.
func StatsOf(rep *report.Report, asOf time.Time) Stats {
	c := rep.Totals.Cost
	return Stats{
		Range: rangeOf(rep.Period, rep.Currency, asOf), Totals: totalsOf(rep.Totals),
		Services:  rowsOf(report.ByService, rep.Breakdowns[report.ByService], c),
		Models:    rowsOf(report.ByModel, rep.Breakdowns[report.ByModel], c),
		Providers: rowsOf(report.ByProvider, rep.Breakdowns[report.ByProvider], c),
	}
}

// Day is one day of the daily series.
type Day struct {
	Date string `json:"date"` // YYYY-MM-DD in the report time zone
	Totals
}

// Daily is GET /v1/daily: every day of the range, days without events included.
type Daily struct {
	Range
	Days []Day `json:"days"`
}

// DailyOf is the daily series of a report, limited to the report's own period (a page's
// report reaches back 30 days for its chart).
func DailyOf(rep *report.Report, asOf time.Time) Daily {
	d := Daily{Range: rangeOf(rep.Period, rep.Currency, asOf), Days: []Day{}}
	for _, day := range rep.Series {
		if rep.Period.Contains(day.Date) {
			d.Days = append(d.Days, Day{Date: day.Date.Format(time.DateOnly), Totals: totalsOf(day.Totals)})
		}
	}
	return d
}

// Top is GET /v1/top: one dimension's top values by cost (ties by requests, then key), then the
// "other" row summing the rest.
type Top struct {
	Range
	Dimension string `json:"dimension"`
	Limit     int    `json:"limit"`
	Total     Totals `json:"total"`
	Rows      []Row  `json:"rows"`
}

// TopOf is the top values of dim in a report computed with TopN = limit.
func TopOf(rep *report.Report, dim report.Dimension, limit int, asOf time.Time) Top {
	return Top{
		Range: rangeOf(rep.Period, rep.Currency, asOf), Dimension: DimensionName(dim), Limit: limit,
		Total: totalsOf(rep.Totals), Rows: rowsOf(dim, rep.Breakdowns[dim], rep.Totals.Cost),
	}
}

// AlertPeriod is the budget period an alert belongs to.
type AlertPeriod struct {
	Kind  report.PeriodKind `json:"kind"`
	Label string            `json:"label"`
	Start time.Time         `json:"start"`
	End   time.Time         `json:"end"`
}

// Alert is one entry of the alert ledger.
type Alert struct {
	Budget    string      `json:"budget"`
	Period    AlertPeriod `json:"period"`
	Threshold int         `json:"threshold"` // percent of the budget's amount
	Severity  string      `json:"severity"`  // INFO, WARNING or CRITICAL
	Kind      string      `json:"kind"`      // actual, or forecast (the projection crossed it)
	Status    string      `json:"status"`    // pending (not delivered yet; retried by the next run) or sent
	Spent     string      `json:"spent"`     // when the alert was claimed
	Amount    string      `json:"amount"`    // the budget's amount
	Projected *string     `json:"projected"` // forecast alerts: the projected period-end spend
	Attempts  int         `json:"attempts"`
	LastError string      `json:"last_error"`
	CreatedAt time.Time   `json:"created_at"`
	SentAt    *time.Time  `json:"sent_at"`
}

// Alerts is GET /v1/alerts: the alerts of the budget periods that overlap the range, oldest
// first — the page's alert history.
type Alerts struct {
	Range
	Alerts []Alert `json:"alerts"`
}

// AlertsOf is the alert history of ledger entries for period p.
func AlertsOf(p report.Period, currency string, entries []report.LedgerEntry, asOf time.Time) Alerts {
	loc := p.Start.Location()
	out := Alerts{Range: rangeOf(p, currency, asOf), Alerts: []Alert{}}
	for _, e := range entries {
		bp := e.Period(loc)
		a := Alert{
			Budget: e.Budget, Period: AlertPeriod{Kind: bp.Kind, Label: bp.Label(), Start: bp.Start, End: bp.End},
			Threshold: e.Threshold, Severity: string(e.Severity), Kind: string(e.Kind), Status: e.Status,
			Spent: e.Spent.String(), Amount: e.Amount.String(), Attempts: e.Attempts, LastError: e.LastError,
			CreatedAt: e.CreatedAt.In(loc),
		}
		if e.Projected.Valid {
			s := e.Projected.Decimal.String()
			a.Projected = &s
		}
		if e.SentAt != nil {
			t := e.SentAt.In(loc)
			a.SentAt = &t
		}
		out.Alerts = append(out.Alerts, a)
	}
	return out
}

// Budgets is the body of GET /v1/budgets. Money amounts are decimal strings in the reporting
// currency, so clients never lose precision.
type Budgets struct {
	AsOf     time.Time `json:"as_of"`
	Currency string    `json:"currency"`
	Budgets  []Budget  `json:"budgets"` // never null: [] when no budget is configured
}

// BudgetsOf is the body of GET /v1/budgets for statuses sts as of asOf.
func BudgetsOf(asOf time.Time, currency string, sts []report.Status) Budgets {
	b := Budgets{AsOf: asOf, Currency: currency, Budgets: make([]Budget, 0, len(sts))}
	for _, st := range sts {
		b.Budgets = append(b.Budgets, BudgetOf(st))
	}
	return b
}

// Budget is one budget's current period in GET /v1/budgets and in report.json: one type, so
// that both state a budget alike.
type Budget struct {
	Name        string            `json:"name"`
	Period      report.PeriodKind `json:"period"` // daily, weekly or monthly
	PeriodLabel string            `json:"period_label"`
	PeriodStart time.Time         `json:"period_start"`
	PeriodEnd   time.Time         `json:"period_end"` // the period resets then
	Scope       report.Scope      `json:"scope"`      // an empty field matches every event
	Spent       string            `json:"spent"`
	Limit       string            `json:"limit"`
	Remaining   string            `json:"remaining"`
	Percent     string            `json:"percent"` // two decimals, truncated
	State       report.State      `json:"state"`
	Thresholds  []int             `json:"thresholds"`
	Unpriced    int64             `json:"unpriced_events"`
	Forecast    *Forecast         `json:"forecast"` // null until enough of the period has passed
	// RunwayAt is when the budget runs out at the pace of the last hours (report.Runway), RFC
	// 3339 UTC; null when that pace does not exhaust it within the period.
	RunwayAt *string `json:"runway_at"`
	// Per and Entities: an envelope budget's field and its entities (envelope.go); absent for
	// a budget without per. Spent and the rest above are then the scope's total.
	Per      string         `json:"per,omitempty"`
	Entities *EntitySummary `json:"entities,omitempty"`
}

// Forecast is a budget's projected period-end spend (report.Status.Projection, the amount the
// page, the digest and the workbook state).
type Forecast struct {
	Projected string `json:"projected"`
	Exceeds   bool   `json:"exceeds_limit"`
}

// BudgetOf is status st as report.json and GET /v1/budgets state it.
func BudgetOf(st report.Status) Budget {
	b := Budget{
		Name: st.Budget.Name, Period: st.Period.Kind, PeriodLabel: st.Period.Label(),
		PeriodStart: st.Period.Start, PeriodEnd: st.Period.End, Scope: st.Budget.Scope,
		Spent: st.Spent.String(), Limit: st.Limit.String(), Remaining: st.Remaining.String(),
		Percent: st.Percent.StringFixed(2), State: st.State, Thresholds: st.Budget.EffectiveThresholds(),
		Unpriced: st.Unpriced, Per: st.Budget.Per.String(),
	}
	// The early estimate of a young period is left out (null), as GET /v1/budgets documents:
	// applications act on the alerts' forecast only.
	if pr, ok := st.Projection(); ok && !pr.Estimate {
		b.Forecast = &Forecast{Projected: pr.Amount.String(), Exceeds: pr.Amount.GreaterThan(st.Limit)}
	}
	if st.HasRunway {
		r := st.Runway.UTC().Format(time.RFC3339)
		b.RunwayAt = &r
	}
	return b
}

// Document is report.json, published beside every period page: what the read API answers for
// the period's dates (stats, daily, top of every dimension with the default limit, alerts), and
// the budgets as the page states them, so that static consumers need no server.
type Document struct {
	Kind    report.PeriodKind `json:"kind"`
	Label   string            `json:"label"`
	Stats   Stats             `json:"stats"`
	Daily   Daily             `json:"daily"`
	Top     map[string]Top    `json:"top"` // by dimension name: service, model, provider, org, user, endpoint, tag:<key>
	Alerts  Alerts            `json:"alerts"`
	Budgets []Budget          `json:"budgets"` // as GET /v1/budgets shows them, for the budget periods holding the period's end
	// Compare is what the page's changes are measured against; absent when none was read.
	Compare *Compare `json:"compare,omitempty"`
}

// Compare is a report's comparison with the previous period (report.VersusOf), as its page and
// digest state it: basis "full", "partial" (the data begin inside the previous period, which is
// compared from then on, with amounts but no percentages) or "none" (nothing to compare with),
// the page's label, and the previous totals' cost.
type Compare struct {
	Basis        string `json:"basis"`
	Label        string `json:"label"`
	PreviousCost string `json:"previous_cost"`
}

// DocumentOf is the report.json of a run's report and the alert history shown on its page.
func DocumentOf(rep *report.Report, alerts []report.LedgerEntry, asOf time.Time) Document {
	d := Document{
		Kind: rep.Period.Kind, Label: rep.Period.Label(),
		Stats: StatsOf(rep, asOf), Daily: DailyOf(rep, asOf), Top: map[string]Top{},
		Alerts: AlertsOf(rep.Period, rep.Currency, alerts, asOf), Budgets: BudgetsOf(asOf, rep.Currency, rep.Budgets).Budgets,
	}
	for _, dim := range append(append([]report.Dimension(nil), report.Dimensions...), rep.Chargeback...) {
		d.Top[DimensionName(dim)] = TopOf(rep, dim, DefaultLimit, asOf)
	}
	if rep.Previous != nil {
		vs := report.VersusOf(rep.Period, rep.Previous)
		d.Compare = &Compare{Basis: vs.Basis.String(), Label: vs.Label, PreviousCost: rep.Previous.Totals.Cost.String()}
	}
	return d
}
