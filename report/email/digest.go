// Package email composes the emails of runs (report.Email): what each says, from the report
// model, in the markup of templates/email. It sends nothing; report/mail delivers what it
// composes (MIME, SMTP, the outbox).
//
//   - The alert email (alert.go, its view alert_view.go): AlertEmail, from the report.AlertInput
//     the batch job (report.Job.ComposeAlert) hands it; SampleAlert is `aispend alert test`'s.
//   - The digest sent after each scheduled run (digest.go, its view digest_view.go): key numbers
//     first, budget bars, the top five services, models and users, the alerts of the period, and
//     links to the published page and workbook. Digest holds its figures with exact amounts;
//     DigestEmail (digest_build.go) formats it and makes the email, with a stable Message-ID and
//     the workbook attached when it fits.
//
// The HTML is inline-styled table layout with no scripts and no images, for Gmail and Outlook; a
// plain-text part carries the same numbers and links. render.go executes the markup.
package email

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// TopN is how many rows each top table shows.
const TopN = 5

// Digest is everything one digest email shows. Amounts are exact and in Currency.
type Digest struct {
	Period Period
	// RunKind tells runs of the same period apart in the Message-ID ("scheduled" when empty):
	// a re-run of the same period and kind carries the same Message-ID.
	RunKind string
	// Installation is the installation's id, in the Message-ID (report.MessageID).
	Installation string
	Currency     string // ISO 4217, e.g. "KRW"
	TimeZone     string // IANA name the report is computed in, e.g. "Asia/Seoul"
	// GeneratedAt is when the run made the digest; zero: not shown.
	GeneratedAt time.Time

	KPIs KPIs
	// Progress names a period still in progress ("month to date, 10 of 30 days",
	// report.Progress); empty: the period is over. The headline states it beside the cost.
	Progress string
	// Previous is the previous period's KPIs, for the change figures; nil: not shown.
	Previous *KPIs
	// Compare is what Previous covers (report.VersusOf): its label names it ("vs 1–10 Oct (same
	// 10 days)"); on a partial basis the changes are amounts named by the label, on none the
	// label says there is nothing to compare with.
	Compare report.Versus

	// Movers are the services, models, users and orgs whose cost changed most from the previous
	// period, largest change first; Spikes the days whose cost is above twice the median of the
	// 30 days before; UnpricedModels the models without a price; CacheSavings what prompt-cache
	// reads saved against the uncached input price (nil: not known).
	Movers         []Mover
	Spikes         []report.Spike
	UnpricedModels []report.UnpricedModel
	CacheSavings   *decimal.Decimal
	// BudgetSummaries sum up the budgets of a shorter period than the digest's
	// ("daily-total: exceeded on 3 of 30 days").
	BudgetSummaries []string
	// Anomalies are the anomalies of the period (report.Report.Anomalies).
	Anomalies []report.Anomaly

	Budgets []Budget
	// Envelopes are the envelope budgets' entities (budgets per user, organisation, endpoint or
	// tag value), each summed up with the entities nearest to or over their envelope.
	Envelopes []Envelope
	// Top services, models and users by cost, highest first; only the first TopN are shown.
	TopServices []Top
	TopModels   []Top
	TopUsers    []Top
	Alerts      []Alert // every alert recorded for the budget periods overlapping the period

	// PageURL, WorkbookURL and EventsURL are absolute http(s) links to the published page,
	// workbook and events CSV (the files' may be presigned); empty: no link.
	PageURL     string
	WorkbookURL string
	EventsURL   string
	FocusURL    string // the FOCUS CSV; empty: no link
	// LocalLinks: the links are file:// URLs of a local output directory, because no public
	// URL is configured; the email says so.
	LocalLinks bool
}

// Envelope is an envelope budget's entities in one budget period.
type Envelope struct {
	Budget string
	Per    string // "user_id", "tag:team"
	Noun   string // what one entity is called (report.Per.Noun)
	Period string // the budget's period, "daily 2025-06-01"
	report.EntitySummary
}

// Mover is one breakdown value whose cost changed from the previous period.
type Mover struct {
	Dimension string // "service", "model", "user", "org"
	Name      string
	Cost      decimal.Decimal
	Previous  decimal.Decimal
	New       bool // nothing in the previous period
}

// MaxMovers is how many movers the digest lists.
const MaxMovers = 5

// Period is the report period.
type Period struct {
	Kind  string // daily | weekly | monthly
	Label string // "2025-06-01", "2025-W23", "2025-06"
	// Start and End (exclusive) are shown as the period's range when both are set.
	Start, End time.Time
}

// KPIs are the period's totals. Rates and the average are computed from the counts, the same
// way the report page does.
type KPIs struct {
	Cost      decimal.Decimal // priced events only
	Requests  int64
	Failures  int64
	CacheHits int64
	Unpriced  int64 // events without a price: counted in Requests, not in Cost
}

// SuccessRate is (Requests − Failures) / Requests in percent, 2 decimals; 0 without requests.
func (k KPIs) SuccessRate() decimal.Decimal { return report.Percent(k.Requests-k.Failures, k.Requests) }

// CacheHitRate is CacheHits / Requests in percent, 2 decimals.
func (k KPIs) CacheHitRate() decimal.Decimal { return report.Percent(k.CacheHits, k.Requests) }

// AvgCost is the cost per priced request, as report.Totals.AvgCost computes it for every output.
func (k KPIs) AvgCost() decimal.Decimal {
	return report.Totals{Requests: k.Requests, Unpriced: k.Unpriced, Cost: k.Cost}.AvgCost()
}

// State is a budget's state, as the batch job and GET /v1/budgets report it.
type State = report.State

// Budget states.
const (
	StateOK       = report.StateOK
	StateInfo     = report.StateInfo
	StateWarning  = report.StateWarning
	StateCritical = report.StateCritical
	StateExceeded = report.StateExceeded
)

// Budget is one budget's status for its current period.
type Budget struct {
	Name    string
	Period  string // the budget's own period, e.g. "monthly 2025-06"; may be empty
	Spent   decimal.Decimal
	Limit   decimal.Decimal
	Percent decimal.Decimal // of the limit spent, as the budget evaluation computed it
	State   State
	// ResetsAt is when the budget's period ends; zero: not shown.
	ResetsAt time.Time
	// AsOf is the instant the figures stand at (the report period's end, or the run's time);
	// zero: not shown.
	AsOf time.Time
	// Forecast is the projected period-end spend as of AsOf (report.Status.Projection), set
	// while the period is open; ForecastEstimate marks the early run rate of a young period.
	Forecast         decimal.NullDecimal
	ForecastEstimate bool
	// Runway is when the budget runs out at the pace of the last hours (report.Status.Runway);
	// zero: that pace does not exhaust it within the period.
	Runway time.Time
}

// Top is one row of a top table. Its share is computed from the period's total cost.
type Top struct {
	Name     string // "" shows as "(none)"
	Cost     decimal.Decimal
	Requests int64
	Unpriced bool // no event of the row has a price: its cost shows as "unpriced", not 0
}

// topCost is a top row's cost as shown.
func topCost(t Top, cur string) string {
	if t.Unpriced {
		return "unpriced"
	}
	return format.Format(t.Cost, cur)
}

// Alert is one alert the run sent.
type Alert struct {
	Budget    string
	Severity  string // INFO | WARNING | CRITICAL
	Threshold int    // percent
	Forecast  bool   // a projection of the period-end spend, not the spend so far
	BurnRate  bool   // at the pace of the last hours the budget ran out before its period's end
	Period    string // the budget's period, e.g. "monthly 2025-06"; may be empty
	Pending   bool   // recorded but not sent yet (a failed send is retried by the next run)
	Stale     bool   // recorded, never sent: its period had ended longer ago than alerts.grace
}

// Validate reports every problem of d at once.
func (d Digest) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch d.Period.Kind {
	case "daily", "weekly", "monthly":
	default:
		bad("period kind %q: want daily, weekly or monthly", d.Period.Kind)
	}
	if strings.TrimSpace(d.Period.Label) == "" {
		bad("period label is empty")
	}
	if len(d.Currency) != 3 {
		bad("currency %q is not an ISO 4217 code", d.Currency)
	}
	if d.TimeZone == "" {
		bad("time zone is empty")
	} else if _, err := time.LoadLocation(d.TimeZone); err != nil {
		bad("time zone %q: %w", d.TimeZone, err)
	}
	checkKPIs := func(what string, k KPIs) {
		if k.Requests < 0 || k.Failures < 0 || k.CacheHits < 0 || k.Unpriced < 0 {
			bad("%s: counts must not be negative", what)
		}
		if k.Failures > k.Requests || k.CacheHits > k.Requests || k.Unpriced > k.Requests {
			bad("%s: failures, cache hits and unpriced events cannot exceed requests (%d)", what, k.Requests)
		}
	}
	checkKPIs("kpis", d.KPIs)
	if d.Previous != nil {
		checkKPIs("previous kpis", *d.Previous)
	}
	for i, b := range d.Budgets {
		switch b.State {
		case StateOK, StateInfo, StateWarning, StateCritical, StateExceeded:
		default:
			bad("budgets[%d] %q: state %q: want ok, info, warning, critical or exceeded", i, b.Name, b.State)
		}
	}
	for i, a := range d.Alerts {
		switch a.Severity {
		case "INFO", "WARNING", "CRITICAL":
		default:
			bad("alerts[%d]: severity %q: want INFO, WARNING or CRITICAL", i, a.Severity)
		}
	}
	for _, l := range []struct{ name, u string }{{"page url", d.PageURL}, {"workbook url", d.WorkbookURL}, {"events url", d.EventsURL}, {"focus url", d.FocusURL}} {
		if l.u != "" {
			if err := checkURL(l.u); err != nil {
				bad("%s: %w", l.name, err)
			}
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute http or https URL, or the file:// URL of an absolute path (a
// local output directory without a public URL): a mail client has no base to resolve a
// relative link against, and any other scheme has no place in a digest.
func checkURL(s string) error {
	if strings.ContainsAny(s, " \t\r\n\"'<>\\") {
		return fmt.Errorf("%q contains a character that is not allowed in a URL", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parse %q: %w", s, err)
	}
	if u.Scheme == "file" && u.Host == "" && strings.HasPrefix(u.Path, "/") {
		return nil
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) or file URL", s)
	}
	return nil
}

func digestParts(d Digest, wb workbookNote) (subject string, html, text []byte, err error) {
	if err := d.Validate(); err != nil {
		return "", nil, nil, fmt.Errorf("invalid digest: %w", err)
	}
	v := newDigestView(d)
	v.Workbook = wb
	s, t, h, err := renderDigest(v)
	if err != nil {
		return "", nil, nil, fmt.Errorf("render digest: %w", err)
	}
	return s, []byte(h), []byte(t), nil
}

// newDigestView formats a valid digest for the templates.
func newDigestView(d Digest) digestView {
	loc, _ := time.LoadLocation(d.TimeZone) // checked by Validate
	cur := strings.ToUpper(d.Currency)
	k := d.KPIs
	v := digestView{
		Kind:      kindTitle(d.Period.Kind),
		Period:    d.Period.Label,
		TimeZone:  d.TimeZone,
		Cost:      format.Format(k.Cost, cur),
		CostScope: d.Progress,
		PageURL:   d.PageURL,
		// The workbook link keeps its query (a presigned signature) byte for byte; html/template
		// escapes & as &amp; in the attribute, which the client turns back.
		WorkbookURL: d.WorkbookURL,
		EventsURL:   d.EventsURL,
		FocusURL:    d.FocusURL,
		LocalLinks:  d.LocalLinks,
	}
	const layout = "2006-01-02 15:04"
	if !d.Period.Start.IsZero() && !d.Period.End.IsZero() {
		v.PeriodRange = d.Period.Start.In(loc).Format(layout) + " – " + d.Period.End.In(loc).Format(layout)
	}
	if !d.GeneratedAt.IsZero() {
		v.AsOf = d.GeneratedAt.In(loc).Format("2006-01-02 15:04 MST")
	}

	if k.Unpriced > 0 {
		v.Unpriced = format.Count(k.Unpriced)
	}
	requests := kpi("Requests", format.Count(k.Requests))
	v.CostChange, requests.Note = changes(d, cur)
	v.Sections = sections(d, cur, loc)
	kpis := []kpiView{
		requests,
		kpi("Success rate", format.Percent(k.SuccessRate())),
		kpi("Cache-hit rate", format.Percent(k.CacheHitRate())),
		{Label: "Avg cost / request", Value: format.FormatFine(k.AvgCost(), cur), Note: "per priced request"},
		kpi("Unpriced events", format.Count(k.Unpriced)),
	}
	// A period without requests has no rates to state: "0.0 % success" of nothing would read as
	// a failure. The digest says there were none instead.
	v.NoRequests = k.Requests == 0
	for len(kpis) > 0 && !v.NoRequests {
		n := min(3, len(kpis))
		v.KPIRows = append(v.KPIRows, kpis[:n])
		kpis = kpis[n:]
	}

	v.Budgets, v.Attention = budgets(d.Budgets, cur, loc)
	v.Envelopes = envelopes(d.Envelopes, cur)
	v.Alerts = alerts(d.Alerts)
	v.Tops = tops(d, cur)

	total := "Total " + v.Cost
	if v.CostScope != "" {
		total += " " + v.CostScope
	}
	pre := []string{total, format.Counted(k.Requests, "request")}
	if v.NoRequests {
		pre[1] = "no requests"
	}
	if v.Attention != "" {
		pre = append(pre, v.Attention)
	} else if len(d.Budgets) > 0 {
		pre = append(pre, "budgets OK")
	}
	v.Preheader = strings.Join(pre, " · ")
	return v
}

// changes are the cost's and the requests' changes from d.Previous as the headline states them
// (d.Compare): on a partial basis amounts, named by the label, since a percentage of part of a
// period is no change anyone can use; with nothing to compare with the label alone.
func changes(d Digest, cur string) (cost, requests string) {
	if d.Previous == nil {
		return "", ""
	}
	k, p := d.KPIs, *d.Previous
	switch d.Compare.Basis {
	case report.BasisNone:
		return d.Compare.Label, ""
	case report.BasisPartial:
		return format.Signed(k.Cost.Sub(p.Cost), cur) + " " + d.Compare.Label + " (" + format.Format(p.Cost, cur) + ")",
			format.SignedCount(k.Requests - p.Requests)
	}
	// Like with like: a month to date is compared with as many days of the month before.
	compared := cmp.Or(d.Compare.Label, "vs the previous period")
	return change(k.Cost, p.Cost) + " " + compared + " (" + format.Format(p.Cost, cur) + ")",
		change(decimal.NewFromInt(k.Requests), decimal.NewFromInt(p.Requests))
}

// stateOrder ranks budget states worst first: the bars that need attention come first.
var stateOrder = map[State]int{StateExceeded: 0, StateCritical: 1, StateWarning: 2, StateInfo: 3, StateOK: 4}

// budgets are the budget bars, worst state first (exceeded ones at the top, then in the
// configured order), and the line naming the budgets that need attention, worst first:
// "1 budget exceeded, 2 at warning".
func budgets(bs []Budget, cur string, loc *time.Location) (out []digestBudget, attention string) {
	bs = slices.Clone(bs)
	slices.SortStableFunc(bs, func(a, b Budget) int { return stateOrder[a.State] - stateOrder[b.State] })
	counts := map[State]int{}
	for _, b := range bs {
		counts[b.State]++
		vb := digestBudget{
			Name:    b.Name,
			Period:  b.Period,
			State:   string(b.State),
			Spent:   format.Format(b.Spent, cur),
			Limit:   format.Format(b.Limit, cur),
			Percent: format.Percent(b.Percent),
			Filled:  int(min(max(b.Percent.IntPart(), 0), 100)),
		}
		if !b.ResetsAt.IsZero() && (b.AsOf.IsZero() || b.AsOf.Before(b.ResetsAt)) {
			vb.ResetsAt = b.ResetsAt.In(loc).Format("Mon 2 Jan 2006 15:04")
		}
		if !b.AsOf.IsZero() {
			vb.AsOf = asOfText(b.AsOf, loc)
		}
		if !b.Runway.IsZero() {
			vb.Runway = b.Runway.In(loc).Format("Mon 2 Jan 2006 15:04")
		}
		if b.Forecast.Valid {
			vb.Forecast = format.Format(b.Forecast.Decimal, cur)
			vb.Estimate, vb.ForecastOver = b.ForecastEstimate, b.Forecast.Decimal.GreaterThan(b.Limit)
		}
		out = append(out, vb)
	}
	// The first item names the noun.
	var parts []string
	for _, st := range []State{StateExceeded, StateCritical, StateWarning} {
		n := counts[st]
		switch {
		case n == 0:
		case len(parts) == 0 && st == StateExceeded:
			parts = append(parts, format.Counted(int64(n), "budget")+" exceeded")
		case len(parts) == 0:
			parts = append(parts, format.Counted(int64(n), "budget")+" at "+string(st))
		default:
			parts = append(parts, fmt.Sprintf("%d at %s", n, st))
		}
	}
	return out, strings.Join(parts, ", ")
}

// envelopes are the envelope budgets' tables: each entity's spend of its envelope, what is left
// or how far over, as report.EvaluateEntity states them.
func envelopes(es []Envelope, cur string) []digestEnvelope {
	var out []digestEnvelope
	for _, e := range es {
		de := digestEnvelope{Budget: e.Budget, Per: e.Per, Period: e.Period, Summary: format.Entities(e.Count, e.Exceeded, len(e.Nearest), e.Noun)}
		for _, es := range e.Nearest {
			row := digestEntity{Entity: es.Entity, State: string(es.State), Spent: format.Format(es.Spent, cur),
				Limit: format.Format(es.Limit, cur), Percent: format.Percent(es.Percent), Left: format.Format(es.Remaining, cur) + " left"}
			if es.Over.IsPositive() {
				row.Left = "over by " + format.Format(es.Over, cur)
			}
			de.Rows = append(de.Rows, row)
		}
		out = append(out, de)
	}
	return out
}

// alerts are the lines of the alerts the run sent.
func alerts(as []Alert) []digestAlert {
	var out []digestAlert
	for _, a := range as {
		text := fmt.Sprintf("Budget “%s” reached %d %%", a.Budget, a.Threshold)
		switch {
		case a.Forecast:
			text = fmt.Sprintf("Budget “%s” is projected to exceed its limit (estimate)", a.Budget)
		case a.BurnRate:
			text = fmt.Sprintf("Budget “%s” was spending at a pace that runs out before its period ends", a.Budget)
		}
		if a.Period != "" {
			text += " (" + a.Period + ")"
		}
		switch {
		case a.Stale:
			text += ", not sent: its period had ended"
		case a.Pending:
			text += ", not sent yet"
		}
		out = append(out, digestAlert{Severity: a.Severity, Text: text})
	}
	return out
}

// tops are the top services, models and users, each row with its share of the period's cost.
func tops(d Digest, cur string) []driverTable {
	k := d.KPIs
	var out []driverTable
	for _, t := range []struct {
		title string
		rows  []Top
	}{{"Top services", d.TopServices}, {"Top models", d.TopModels}, {"Top users", d.TopUsers}} {
		tbl := driverTable{Title: t.title, Empty: "(no events)"}
		for _, r := range t.rows[:min(TopN, len(t.rows))] {
			name := r.Name
			if name == "" {
				name = "(none)"
			}
			share := "–"
			if k.Cost.IsPositive() {
				share = format.Percent(report.PercentOf(r.Cost, k.Cost))
			}
			tbl.Rows = append(tbl.Rows, driverRow{
				Name: name, Cost: topCost(r, cur), Requests: format.Count(r.Requests), Share: share,
			})
		}
		out = append(out, tbl)
	}
	return out
}

// kpi is a key number without a note.
func kpi(label, value string) kpiView { return kpiView{Label: label, Value: value} }

// change is the relative change from prev to cur (report.Change) as the page shows it
// (format.SignedPercent): "+12.2 %", "−40.7 %"; "no change" under 0.1 %; from zero it is "new".
func change(cur, prev decimal.Decimal) string {
	c, ok := report.Change(cur, prev)
	switch {
	case !ok && cur.IsZero():
		return "no change"
	case !ok:
		return "new"
	case c.Truncate(1).IsZero():
		return "no change"
	}
	return format.SignedPercent(c)
}

func kindTitle(kind string) string {
	return strings.ToUpper(kind[:1]) + kind[1:] // kind is validated ASCII
}

// asOfText states an instant for "as of …": a midnight, the end of a period, reads as the end of
// the day before ("28 Nov 2026, 24:00"), which is what a report of the 28th means.
func asOfText(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Add(-time.Nanosecond).Format("2 Jan 2006") + ", 24:00"
	}
	return t.Format("2 Jan 2006, 15:04")
}

// sections are the digest's short lists: what changed, the spike days, the unpriced models and
// the prompt-cache savings.
func sections(d Digest, cur string, loc *time.Location) []digestSection {
	var out []digestSection
	add := func(title string, lines []string) {
		if len(lines) > 0 {
			out = append(out, digestSection{Title: title, Lines: lines})
		}
	}
	var movers []string
	for _, m := range d.Movers {
		line := fmt.Sprintf("%s %s: %s (%s → %s)", m.Dimension, m.Name, format.Signed(m.Cost.Sub(m.Previous), cur),
			format.Format(m.Previous, cur), format.Format(m.Cost, cur))
		if m.New {
			line = fmt.Sprintf("%s %s: new, %s", m.Dimension, m.Name, format.Format(m.Cost, cur))
		}
		movers = append(movers, line)
	}
	add("Budgets of shorter periods", d.BudgetSummaries)
	add("Biggest movers", movers)
	var spikes []string
	for _, s := range d.Spikes {
		spikes = append(spikes, fmt.Sprintf("%s: %s, above twice the median %s of the 30 days before",
			s.Date.In(loc).Format("Mon 2 Jan"), format.Format(s.Cost, cur), format.Format(s.Median, cur)))
	}
	add("Spike days", spikes)
	var anomalies []string
	for _, a := range d.Anomalies {
		anomalies = append(anomalies, a.Summary(cur, loc))
	}
	add("Anomalies", anomalies)
	var unpriced []string
	for _, u := range d.UnpricedModels {
		line := u.Model + ": " + format.Counted(u.Events, "event") + " unpriced"
		if u.TokensKnown {
			line += fmt.Sprintf(" (%s input, %s output tokens)", format.Group(fmt.Sprint(u.InputTokens)), format.Group(fmt.Sprint(u.OutputTokens)))
		}
		unpriced = append(unpriced, line)
	}
	add("Unpriced models (not in the total until re-priced)", unpriced)
	if d.CacheSavings != nil {
		add("Prompt cache", []string{"Cache reads saved " + format.Format(*d.CacheSavings, cur) + " against the uncached input price"})
	}
	return out
}
