package artifact

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/sheet"
	"github.com/aispend/aispend/report/site"
)

// This file maps a batch run's report onto the view structs of the page and the workbook (the
// digest's is report/email.DigestOf). The mappings are pure, so the page, the workbook and the
// email show the same numbers by construction: each takes its amounts from the same
// report.Totals.

// SitePeriod is the site's name for a report period.
func SitePeriod(p report.Period) site.Period {
	return site.Period{Kind: p.Kind, Label: p.Label(), Start: p.Start, End: p.End}
}

// Page is the period page of a report. alerts is the alert history (the ledger entries of the
// budget periods that overlap the report period); workbook is the workbook's file name beside the
// page, "" for no link.
func Page(rep *report.Report, alerts []report.LedgerEntry, generatedAt time.Time, workbook string) site.PeriodPage {
	pg := site.PeriodPage{
		Period:      SitePeriod(rep.Period),
		Currency:    rep.Currency,
		Location:    rep.Period.Start.Location(),
		GeneratedAt: generatedAt,
		KPIs:        pageKPIs(rep.Totals),
		Budgets:     BudgetCards(rep.Budgets),
		Envelopes:   EnvelopeCards(rep.Envelopes),
		Workbook:    workbook,
	}
	if cmp := rep.Previous; cmp != nil {
		prev := pageKPIs(cmp.Totals)
		pg.Previous = &prev
		vs := report.VersusOf(rep.Period, cmp)
		pg.CompareLabel, pg.CompareBasis = vs.Label, vs.Basis
	}
	for _, s := range report.Spikes(rep.History, rep.Series) {
		pg.Spikes = append(pg.Spikes, site.Spike{Day: s.Date, Cost: s.Cost, Median: s.Median})
	}
	for _, u := range rep.UnpricedModels {
		pg.UnpricedModels = append(pg.UnpricedModels, site.UnpricedModel{Model: u.Model, Provider: u.Provider, Events: u.Events,
			InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TokensKnown: u.TokensKnown})
	}
	pageBreakdowns(&pg, rep)
	for _, s := range rep.BudgetSummaries {
		pg.BudgetSummaries = append(pg.BudgetSummaries, s.String())
	}
	pg.CacheSavings = rep.CacheSavings
	pg.Progress = report.Progress(rep.Period, rep.AsOf)
	if pg.Progress != "" {
		if proj, ok := report.Project(rep.Period, rep.Totals.Cost, rep.AsOf); ok {
			pg.Forecast = decimal.NewNullDecimal(proj)
		}
	}
	pg.DailyCost = dayCosts(rep.Series, rep.AsOf)
	for _, a := range rep.Anomalies {
		pg.Anomalies = append(pg.Anomalies, site.AnomalyLine{Summary: a.Summary(rep.Currency, rep.Period.Start.Location()), Status: a.Status})
	}
	for _, e := range alerts {
		pg.Alerts = append(pg.Alerts, site.Alert{
			At: e.CreatedAt, Budget: e.Budget, Threshold: e.Threshold,
			Severity: site.BudgetState(strings.ToLower(string(e.Severity))),
			Kind:     site.AlertKind(e.Kind), Status: e.Status, Amount: alertAmount(e),
			Period: e.Period(rep.Period.Start.Location()).String(),
		})
	}
	return pg
}

// dayCosts are the points of a daily cost line of days (oldest first) as of asOf (zero: a
// period that is over): no day after the run's, whose spend is not yet known (not 0), and the
// run's own day marked partial, its cost being what it has spent so far.
func dayCosts(days []report.Day, asOf time.Time) []site.DayCost {
	var out []site.DayCost
	for _, d := range days {
		if !asOf.IsZero() && !d.Date.Before(asOf) {
			break
		}
		day := site.DayCost{Day: d.Date, Cost: d.Cost, NoData: d.Requests == 0}
		y, m, dd := d.Date.Date()
		day.Partial = !asOf.IsZero() && asOf.Before(report.StartOfDay(y, m, dd+1, d.Date.Location()))
		out = append(out, day)
	}
	return out
}

// Headline is the landing page's headline of the month in progress (as of its AsOf; a report
// or the lighter Store.MonthToDate): its cost to date, compared as its page compares it
// (report.VersusOf), and the last report.SeriesDays days up to the run's as its trend.
func Headline(month *report.Report) *site.SpendHeadline {
	h := &site.SpendHeadline{Month: SitePeriod(month.Period), Progress: report.Progress(month.Period, month.AsOf), Cost: month.Totals.Cost}
	if month.Previous != nil {
		vs := report.VersusOf(month.Period, month.Previous)
		prev := month.Previous.Totals.Cost
		h.Previous, h.CompareLabel, h.CompareBasis = &prev, vs.Label, vs.Basis
	}
	// A month's series is its own days; the days before it are its History.
	days := dayCosts(append(append([]report.Day(nil), month.History...), month.Series...), month.AsOf)
	h.Days = days[max(0, len(days)-report.SeriesDays):]
	return h
}

// pageKPIs are the key numbers of totals t, as the report computed them.
func pageKPIs(t report.Totals) site.KPIs {
	return site.KPIs{TotalCost: t.Cost, AvgCostPerRequest: t.AvgCost(), Requests: t.Requests,
		Successes: t.Successes(), CacheHits: t.CacheHits, Unpriced: t.Unpriced}
}

// pageBreakdowns sets the page's services (with their latency), models, users and
// organisations, each row with its change from the previous period when there is one.
func pageBreakdowns(pg *site.PeriodPage, rep *report.Report) {
	change := func(d report.Dimension, r report.Row) site.Change {
		if rep.Previous == nil || pg.CompareBasis == report.BasisNone {
			return site.Change{}
		}
		t, ok := rep.Previous.Of(d, r, rep.Breakdowns[d])
		return site.Change{Known: true, New: !ok, Cost: t.Cost}
	}
	unpriced := func(r report.Row) bool { return r.Requests > 0 && r.Unpriced == r.Requests }
	share := func(d report.Dimension, r report.Row) site.CostShare {
		return site.CostShare{Name: rowName(r), Cost: r.Cost, Requests: r.Requests,
			Members: r.Members, Unpriced: unpriced(r), Previous: change(d, r)}
	}
	spender := func(d report.Dimension, r report.Row) site.Spender {
		return site.Spender{ID: rowName(r), Cost: r.Cost, Requests: r.Requests,
			Members: r.Members, Unpriced: unpriced(r), Previous: change(d, r)}
	}
	for _, r := range rep.Breakdowns[report.ByService] {
		pg.Services = append(pg.Services, share(report.ByService, r))
		pg.Latency = append(pg.Latency, site.ServiceLatency{
			Service: rowName(r), Samples: r.Latency.Count(),
			P50: ms(r.Latency.Percentile(0.50)), P95: ms(r.Latency.Percentile(0.95)),
		})
	}
	for _, r := range rep.Breakdowns[report.ByModel] {
		pg.Models = append(pg.Models, share(report.ByModel, r))
	}
	for _, r := range rep.Breakdowns[report.ByUser] {
		pg.TopUsers = append(pg.TopUsers, spender(report.ByUser, r))
	}
	for _, r := range rep.Breakdowns[report.ByOrg] {
		pg.TopOrgs = append(pg.TopOrgs, spender(report.ByOrg, r))
	}
	for _, d := range rep.Chargeback {
		c := site.ChargebackTable{Title: strings.ToLower(d.Title()[:1]) + d.Title()[1:], Noun: "endpoints", None: d.NoneLabel()}
		if _, ok := d.TagKey(); ok {
			c.Noun = "values"
		}
		for _, r := range rep.Breakdowns[d] {
			c.Rows = append(c.Rows, spender(d, r))
		}
		pg.Chargeback = append(pg.Chargeback, c)
	}
}

// rowName is a breakdown row's key for a view: "(other)" for the row that sums the rest, "" (shown
// as "(none)") for events without a value.
func rowName(r report.Row) string {
	if r.Other {
		return r.Label()
	}
	return r.Key
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// alertAmount is the spend that crossed the threshold: the projection for a forecast alert.
func alertAmount(e report.LedgerEntry) decimal.Decimal {
	if e.Kind == report.Forecast && e.Projected.Valid {
		return e.Projected.Decimal
	}
	return e.Spent
}

// BudgetCards are the budget status cards of the period page and the landing page.
func BudgetCards(sts []report.Status) []site.BudgetCard {
	out := make([]site.BudgetCard, 0, len(sts))
	for _, st := range sts {
		c := site.BudgetCard{
			Name: st.Budget.Name, Window: st.Period.Kind,
			Spent: st.Spent, Limit: st.Limit, Remaining: st.Remaining, Over: st.Over,
			State: site.BudgetState(st.State), ResetsAt: st.Period.End, AsOf: st.AsOf,
		}
		if pr, ok := st.Projection(); ok && st.Open() {
			c.Forecast, c.ForecastEstimate = decimal.NewNullDecimal(pr.Amount), pr.Estimate
		}
		if st.HasRunway {
			c.Runway = st.Runway
		}
		if !st.Budget.Scope.IsZero() {
			c.Scope = st.Budget.Scope.String()
		}
		out = append(out, c)
	}
	return out
}

// EnvelopeCards are the envelope budgets of a report on its page: each one's summary
// (report.SummarizeEntities) with its nearest entities.
func EnvelopeCards(envs []report.Envelope) []site.EnvelopeCard {
	out := make([]site.EnvelopeCard, 0, len(envs))
	for _, env := range envs {
		sum := report.SummarizeEntities(env.Entities)
		c := site.EnvelopeCard{Budget: env.Budget.Name, Per: env.Budget.Per.String(), Noun: env.Budget.Per.Noun(),
			Count: sum.Count, Exceeded: sum.Exceeded}
		for _, es := range sum.Nearest {
			c.Entities = append(c.Entities, site.EntityLine{Entity: es.Entity, Spent: es.Spent, Limit: es.Limit,
				Remaining: es.Remaining, Over: es.Over, Percent: es.Percent, State: site.BudgetState(es.State)})
		}
		out = append(out, c)
	}
	return out
}

// Workbook is the workbook of a report. events streams the period's events (it is called once,
// while the workbook is written); nil gives an empty Events sheet.
func Workbook(rep *report.Report, alerts []report.LedgerEntry, generatedAt time.Time, events func(emit func(report.Event) error) error) sheet.Workbook {
	p, t := rep.Period, rep.Totals
	wb := sheet.Workbook{
		Currency:    rep.Currency,
		Location:    p.Start.Location(),
		Period:      sheet.Period{Label: p.Label(), Start: p.Start, End: p.End},
		GeneratedAt: generatedAt,
		Summary: sheet.Summary{
			TotalCost: t.Cost, Requests: t.Requests, Successes: t.Successes(), CacheHits: t.CacheHits,
			Unpriced: t.Unpriced, Tokens: tokens(t), Latency: latency(t.Latency), CacheSavings: rep.CacheSavings,
			AvgCost:        avgCost(t),
			UnpricedModels: unpricedLines(rep.UnpricedModels),
		},
		Services:   breakdown(rep.Breakdowns[report.ByService]),
		Models:     breakdown(rep.Breakdowns[report.ByModel]),
		Users:      breakdown(every(rep, report.ByUser)),
		Orgs:       breakdown(every(rep, report.ByOrg)),
		Chargeback: chargebackSheets(rep),
		Events:     events,
	}
	wb.Progress = report.Progress(p, rep.AsOf)
	if wb.Progress != "" {
		wb.AsOf = rep.AsOf
	}
	// The series reaches back 30 days for the chart; the Daily sheet is the period's own days,
	// of a period in progress only those up to the run (a later day is not yet known, not 0),
	// the last one marked partial.
	for _, d := range rep.Series {
		if !p.Contains(d.Date) || !rep.Known(d.Date) {
			continue
		}
		wb.Daily = append(wb.Daily, sheet.DailyRow{
			Partial: !wb.AsOf.IsZero() && wb.AsOf.Before(report.PeriodContaining(report.Daily, d.Date, wb.Location).End),
			Day:     d.Date, Counts: counts(d.Totals),
		})
	}
	for _, st := range rep.Budgets {
		// Scope names what the budget counts, "all events" when unscoped, so that finance
		// never reads a blank as "unknown".
		row := sheet.BudgetRow{Name: st.Budget.Name, Scope: st.Budget.Scope.String(), Period: st.Period.String(),
			Limit: st.Limit, Spent: st.Spent, Remaining: st.Remaining, Over: st.Over, State: string(st.State), AsOf: st.AsOf}
		// Every open budget has one (early in the period the plain run rate), as of the
		// report's instant like the page's and the digest's, never as of the run.
		if pr, ok := st.Projection(); ok {
			row.Forecast = decimal.NewNullDecimal(pr.Amount)
		}
		wb.Budgets = append(wb.Budgets, row)
	}
	for _, env := range rep.Envelopes {
		for _, es := range env.Entities {
			wb.Entities = append(wb.Entities, sheet.EntityRow{Budget: env.Budget.Name, Per: env.Budget.Per.String(), Period: env.Period.String(),
				Entity: es.Entity, Limit: es.Limit, Spent: es.Spent, State: string(es.State), Unpriced: es.Unpriced})
		}
	}
	for _, e := range alerts {
		wb.Alerts = append(wb.Alerts, sheet.AlertRow{At: e.CreatedAt, Budget: e.Budget, Period: e.Period(p.Start.Location()).String(), Threshold: e.Threshold,
			Severity: string(e.Severity), Kind: string(e.Kind), Status: e.Status})
	}
	return wb
}

// avgCost is the workbook's average cost per priced request (report.Totals.AvgCost); blank
// without a priced request, where the page shows 0.
func avgCost(t report.Totals) decimal.NullDecimal {
	if t.PricedRequests() <= 0 {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(t.AvgCost())
}

// counts are a day's or a row's totals as the workbook's sheets count them.
func counts(t report.Totals) sheet.Counts {
	return sheet.Counts{Requests: t.Requests, Failures: t.Failures, CacheHits: t.CacheHits, Unpriced: t.Unpriced,
		Cost: t.Cost, Tokens: tokens(t)}
}

func tokens(t report.Totals) sheet.Tokens {
	return sheet.Tokens{Input: t.InputTokens, Output: t.OutputTokens, CacheRead: t.CacheReadTokens,
		CacheWrite: t.CacheWriteTokens, Reasoning: t.ReasoningTokens}
}

func latency(h report.Histogram) *sheet.Latency {
	if h.Count() == 0 {
		return nil
	}
	return &sheet.Latency{P50: float64(h.Percentile(0.50)), P95: float64(h.Percentile(0.95)), P99: float64(h.Percentile(0.99))}
}

// chargebackSheets are the workbook's sheets by endpoint and by each tag key: every value, the
// row without one labelled "(no endpoint)" or "(untagged)".
func chargebackSheets(rep *report.Report) []sheet.ChargebackSheet {
	var out []sheet.ChargebackSheet
	for _, d := range rep.Chargeback {
		name := "By endpoint"
		if k, ok := d.TagKey(); ok {
			name = "By tag " + k
		}
		rows := breakdown(every(rep, d))
		for i, r := range every(rep, d) {
			rows[i].Name = r.LabelIn(d)
		}
		out = append(out, sheet.ChargebackSheet{Name: name, Column: d.Title(), Rows: rows})
	}
	return out
}

// every is each row of dimension d, when the report has them all (users and orgs: the
// workbook's chargeback sheets); otherwise its top N and "(other)".
func every(rep *report.Report, d report.Dimension) []report.Row {
	if all, ok := rep.All[d]; ok {
		return all
	}
	return rep.Breakdowns[d]
}

func breakdown(rows []report.Row) []sheet.BreakdownRow {
	out := make([]sheet.BreakdownRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, sheet.BreakdownRow{Name: rowName(r), Counts: counts(r.Totals), Latency: latency(r.Latency)})
	}
	return out
}

// unpricedLines name the models without a price with their event and token counts.
func unpricedLines(ms []report.UnpricedModel) []string {
	var out []string
	for _, m := range ms {
		s := m.Model
		if m.Provider != "" {
			s += " (" + m.Provider + ")"
		}
		s += ": " + format.Group(strconv.FormatInt(m.Events, 10)) + " events"
		if m.TokensKnown {
			s += ", " + format.Group(strconv.FormatInt(m.InputTokens, 10)) + " input and " +
				format.Group(strconv.FormatInt(m.OutputTokens, 10)) + " output tokens"
		}
		out = append(out, s)
	}
	return out
}
