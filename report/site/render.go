package site

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/templates"
)

// pages is parsed once, when first rendered: the templates are embedded, so a parse error is a
// build defect that every test of this package reports. Parsing them at start took 1.5 ms of
// every process, budget checks included, which render no page.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("site").Funcs(template.FuncMap{"spenders": spendersTable}).ParseFS(templates.Site(), "*.html"))
})

// spendersTable is the input of the "spenders" template: the rows, the total row and whether the
// change column is shown.
func spendersTable(rows []spenderRow, total *spenderRow, compare string) map[string]any {
	return map[string]any{"Rows": rows, "Total": total, "Compare": compare != ""}
}

var hundred = decimal.NewFromInt(100)

// PeriodHTML is a period page checked and laid out by PreparePeriod, ready to be written: a
// batch run prepares its page before it knows whether the workbook will be made, and writes it
// once, when it publishes.
type PeriodHTML struct {
	v   *periodView
	dir string
}

// PreparePeriod checks a period page (published at p.Period.PagePath()) and lays it out; Write
// writes it. The page loads ../../assets/echarts.min.js, ../../assets/site.js and
// ../../assets/site.css. In a binary built without the chart library it returns an error that
// says to build with `make build`.
func PreparePeriod(p PeriodPage) (*PeriodHTML, error) { return chartLib().preparePeriod(p) }

func (lib chartLibrary) preparePeriod(p PeriodPage) (*PeriodHTML, error) {
	if lib.err != nil {
		return nil, lib.err
	}
	v, err := newPeriodView(p)
	if err != nil {
		return nil, fmt.Errorf("render period page: %w", err)
	}
	return &PeriodHTML{v: v, dir: p.Period.Dir()}, nil
}

// WithoutFiles is the page without its links to the workbook and the events CSV, for a run
// whose workbook (made together with the CSV) failed: a page never links a missing file.
func (h *PeriodHTML) WithoutFiles() *PeriodHTML {
	v := *h.v
	v.Workbook, v.EventsCSV, v.FocusCSV = "", "", ""
	return &PeriodHTML{v: &v, dir: h.dir}
}

// Write writes the page.
func (h *PeriodHTML) Write(w io.Writer) error {
	if err := pages().ExecuteTemplate(w, "period", h.v); err != nil {
		return fmt.Errorf("render period page %s: %w", h.dir, err)
	}
	return nil
}

// RenderIndex writes the landing page (published at index.html); like PreparePeriod it refuses
// in a binary built without the chart library.
func RenderIndex(w io.Writer, p IndexPage) error { return chartLib().renderIndex(w, p) }

// The landing page draws no chart, but it is published with the assets, and a site without
// the chart library is broken.
func (lib chartLibrary) renderIndex(w io.Writer, p IndexPage) error {
	if lib.err != nil {
		return lib.err
	}
	v, err := newIndexView(p)
	if err != nil {
		return fmt.Errorf("render index page: %w", err)
	}
	if err := pages().ExecuteTemplate(w, "index", v); err != nil {
		return fmt.Errorf("render index page: %w", err)
	}
	return nil
}

// The views below hold display strings only, so the templates contain no logic beyond loops.

type pageHead struct {
	Title     string
	Label     string // period label, for the <title>; empty on the index
	Assets    string // relative path to assets/, ending in "/"
	Home      string // relative link to index.html
	Currency  string
	Zone      string // "Europe/Berlin (UTC+02:00)"
	Generated string
	Format    template.JS // money format for site.js: {"symbol":"$","digits":2}
	Rates     string      // "1 USD = 1,300 KRW (set 2025-10-01)"; empty without rates
}

type periodView struct {
	pageHead
	KindTitle       string // "Daily report"
	Range           string // "Wednesday 1 October 2025"
	Workbook        string
	EventsCSV       string
	FocusCSV        string
	KPIs            []kpiView
	Budgets         []budgetView
	Envelopes       []envelopeView
	Services        []serviceRow
	Users           []spenderRow
	Orgs            []spenderRow
	Alerts          []alertRow
	Anomalies       []AnomalyLine
	BudgetSummaries []string
	Progress        string // "month to date, 3 of 31 days"; empty once the period is over
	Forecast        string // projected period-end cost of a period in progress; empty: none
	// Compare names what the KPI changes compare with; empty: no comparison.
	Compare string
	// NoCompare says why nothing is compared: "nothing to compare with: data begin 5 Dec 09:14".
	NoCompare    string
	ServiceTotal *serviceRow
	UserTotal    *spenderRow
	OrgTotal     *spenderRow
	Chargeback   []chargebackView
	Spikes       []string // "2 Nov: ₩1,234 (4.1× the median ₩300 of the 30 days before)"
	DailyRange   string   // the days the daily chart shows: "30 days, 2 Sep – 1 Oct 2025"
	Unpriced     []unpricedRow
	Daily        chartView
	Pie          chartView
	Models       chartView
}

type kpiView struct {
	Label, Value, Detail string
	Warn                 bool
	Change               string // "+₩1,200 (+12.5%)"; empty: no comparison
	Dir                  string // up | down | flat: the change's direction
	Tone                 string // good | bad | neutral: what the change means, for its colour
}

type unpricedRow struct {
	Model, Provider, Events, Input, Output string
}

type budgetView struct {
	Name, Scope, Window     string
	Spent, Limit, Remaining string
	Over                    bool
	Percent                 string // "82.5%" or "—"
	Bar                     string // CSS width, "82.5%"
	State, StateLabel       string
	ResetsAt                string
	Ended                   bool   // the budget's period was over at AsOf: "ended", not "resets"
	AsOf                    string // "28 Nov 2026, 24:00"; empty: not stated
	Forecast                string // projected period-end spend; empty: not stated
	Estimate                bool   // the forecast is the early run rate
	ForecastOver            bool   // the forecast is above the limit
	Runway                  string // when the budget runs out at the pace of the last hours; empty: not before the period's end
}

type envelopeView struct {
	Budget, Per, Summary string
	Rows                 []entityRow
}

type entityRow struct {
	Entity, Spent, Limit, Percent, Left string
	Over                                bool
	State, StateLabel                   string
}

type serviceRow struct {
	Name, Cost, Share, Requests, P50, P95 string
	Change, Tone                          string
}

type spenderRow struct {
	Rank                      string // "" for the "(other)" row, which is labelled with its size
	ID, Cost, Share, Requests string
	Change, Tone              string // Tone as kpiView's: a cost that rose is bad
}

type alertRow struct {
	When, Budget, Threshold, Severity, SeverityLabel, Kind, Status, Amount, Period string
	BurnRate                                                                       bool // no threshold was crossed: its pace ran out before the period's end
}

type chartView struct {
	ID      string      // element id of the chart container
	Options template.JS // JSON, HTML-escaped by encoding/json
	Empty   bool        // nothing to draw: show a note instead of an empty frame
	Height  int         // pixels
}

func newHead(title, assets, home, currency string, loc *time.Location, at, generated time.Time, rates []Rate) (pageHead, error) {
	if strings.TrimSpace(currency) == "" {
		return pageHead{}, errors.New("currency is required")
	}
	if loc == nil {
		return pageHead{}, errors.New("time zone (Location) is required")
	}
	format, err := optionsJSON(map[string]any{
		"symbol": format.Symbol(currency),
		"digits": format.MinorUnits(currency),
	})
	if err != nil {
		return pageHead{}, err
	}
	return pageHead{
		Title:     title,
		Assets:    assets,
		Home:      home,
		Currency:  strings.ToUpper(currency),
		Zone:      zoneName(loc, at),
		Generated: fmtTime(generated, loc),
		Format:    format,
		Rates:     ratesText(rates, currency),
	}, nil
}

// ratesText states each rate exactly, as configured: finance checks conversions against it.
func ratesText(rates []Rate, currency string) string {
	var parts []string
	for _, r := range rates {
		s := r.Value.String()
		intPart, frac := s, ""
		if i := strings.IndexByte(s, '.'); i >= 0 {
			intPart, frac = s[:i], s[i:]
		}
		t := fmt.Sprintf("1 %s = %s%s %s", strings.ToUpper(r.Currency), format.Group(intPart), frac, strings.ToUpper(currency))
		if r.Since != "" {
			t += " (set " + r.Since + ")"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}

// newPeriodView is the view of a period page: its head, KPIs, budgets, tables, notes and charts.
func newPeriodView(p PeriodPage) (*periodView, error) {
	head, err := periodHead(p)
	if err != nil {
		return nil, err
	}
	cur, loc := p.Currency, p.Location
	v := &periodView{
		pageHead:  head,
		KindTitle: kindTitle(p.Period.Kind),
		Range:     periodRange(p.Period, loc),
		Workbook:  p.Workbook,
		EventsCSV: p.EventsCSV,
		FocusCSV:  p.FocusCSV,
		KPIs:      periodKPIs(p),
	}
	if v.Budgets, err = budgetViews(p.Budgets, cur, loc); err != nil {
		return nil, err
	}
	if v.Envelopes, err = envelopeViews(p.Envelopes, cur); err != nil {
		return nil, err
	}
	v.BudgetSummaries = p.BudgetSummaries
	v.Progress = p.Progress
	if p.Progress != "" && p.Forecast.Valid {
		v.Forecast = format.Format(p.Forecast.Decimal, cur)
	}
	if p.Previous != nil && p.CompareBasis == report.BasisNone {
		v.NoCompare = p.CompareLabel
	} else if p.Previous != nil {
		v.Compare = p.CompareLabel
	}
	spenderTables(v, p)
	v.Spikes = spikeLines(p.Spikes, cur, loc)
	v.Unpriced = unpricedRows(p.UnpricedModels)
	v.Anomalies = p.Anomalies
	if v.Alerts, err = alertRows(p.Alerts, cur, loc); err != nil {
		return nil, err
	}
	if err := periodCharts(v, p); err != nil {
		return nil, err
	}
	return v, nil
}

// periodHead checks the page's period and linked file names and makes its head.
func periodHead(p PeriodPage) (pageHead, error) {
	if err := p.Period.Validate(); err != nil {
		return pageHead{}, err
	}
	if err := checkFileName(p.Workbook); err != nil {
		return pageHead{}, err
	}
	for _, name := range []string{p.EventsCSV, p.FocusCSV} {
		if err := checkFileName(name); err != nil {
			return pageHead{}, err
		}
	}
	title := p.Title
	if title == "" {
		title = "AI spend report"
	}
	head, err := newHead(title, "../../assets/", "../../index.html", p.Currency, p.Location, p.Period.Start, p.GeneratedAt, p.Rates)
	if err != nil {
		return pageHead{}, err
	}
	head.Label = p.Period.Label
	return head, nil
}

// periodKPIs are the key numbers at the top of the page, with their change from the previous
// period when there is one.
func periodKPIs(p PeriodPage) []kpiView {
	k, cur := p.KPIs, p.Currency
	kpis := []kpiView{
		{Label: "Total cost", Value: format.Format(k.TotalCost, cur), Detail: costDetail(k.Unpriced)},
		{Label: "Requests", Value: format.Count(k.Requests), Detail: format.Count(k.Requests-k.Successes) + " failed"},
		{Label: "Success rate", Value: fmtRate(k.Successes, k.Requests), Detail: format.Count(k.Successes) + " succeeded"},
		{Label: "Cache-hit rate", Value: fmtRate(k.CacheHits, k.Requests), Detail: format.Count(k.CacheHits) + " cache hits"},
		{Label: "Avg cost / request", Value: format.FormatFine(k.AvgCostPerRequest, cur), Detail: "per priced request"},
		{Label: "Unpriced events", Value: format.Count(k.Unpriced), Detail: "cost unknown, not in totals", Warn: k.Unpriced > 0},
	}
	if p.CacheSavings.Valid {
		kpis = append(kpis, kpiView{Label: "Prompt-cache savings", Value: format.Format(p.CacheSavings.Decimal, cur),
			Detail: "cache reads vs uncached input price"})
	}
	if p.Previous != nil && p.CompareBasis != report.BasisNone {
		kpiChanges(kpis, k, *p.Previous, cur, p.CompareBasis)
	}
	return kpis
}

// spenderTables sets the services, users and organisations tables with their total rows.
func spenderTables(v *periodView, p PeriodPage) {
	k, cur, basis := p.KPIs, p.Currency, p.CompareBasis
	v.Services = serviceRows(p.Services, p.Latency, k.TotalCost, cur, basis)
	v.Users = spenderRows(p.TopUsers, k.TotalCost, cur, "users", basis)
	v.Orgs = spenderRows(p.TopOrgs, k.TotalCost, cur, "organisations", basis)
	if len(p.Services) > 0 {
		v.ServiceTotal = &serviceRow{Name: "Total", Cost: format.Format(k.TotalCost, cur), Share: fmtShare(k.TotalCost, k.TotalCost),
			Requests: format.Count(k.Requests), P50: "", P95: ""}
		if v.Compare != "" {
			v.ServiceTotal.Change, v.ServiceTotal.Tone = costChange(k.TotalCost, Change{Known: true, Cost: p.Previous.TotalCost}, cur, basis)
		}
	}
	total := func(rows []Spender) *spenderRow {
		if len(rows) == 0 {
			return nil
		}
		r := &spenderRow{ID: "Total", Cost: format.Format(k.TotalCost, cur), Share: fmtShare(k.TotalCost, k.TotalCost), Requests: format.Count(k.Requests)}
		if v.Compare != "" {
			r.Change, r.Tone = costChange(k.TotalCost, Change{Known: true, Cost: p.Previous.TotalCost}, cur, basis)
		}
		return r
	}
	v.UserTotal, v.OrgTotal = total(p.TopUsers), total(p.TopOrgs)
	for _, c := range p.Chargeback {
		rows := spenderRows(c.Rows, k.TotalCost, cur, c.Noun, basis)
		for i, s := range c.Rows {
			if s.ID == "" && s.Members == 0 {
				rows[i].ID = c.None
			}
		}
		v.Chargeback = append(v.Chargeback, chargebackView{Title: c.Title, Rows: rows, Total: total(c.Rows)})
	}
}

// chargebackView is a chargeback table of the page (ChargebackTable).
type chargebackView struct {
	Title string
	Rows  []spenderRow
	Total *spenderRow
}

// spikeLines describe the spike days against the median of the 30 days before each.
func spikeLines(spikes []Spike, cur string, loc *time.Location) []string {
	var out []string
	for _, s := range spikes {
		ratio := "∞"
		if s.Median.IsPositive() {
			ratio = s.Cost.Div(s.Median).StringFixed(1)
		}
		out = append(out, fmt.Sprintf("%s: %s, %s× the median %s of the 30 days before",
			s.Day.In(loc).Format("Mon 2 Jan"), format.Format(s.Cost, cur), ratio, format.Format(s.Median, cur)))
	}
	return out
}

// unpricedRows list the models without a price; their token counts when known.
func unpricedRows(models []UnpricedModel) []unpricedRow {
	var out []unpricedRow
	for _, u := range models {
		r := unpricedRow{Model: displayID(u.Model), Provider: u.Provider, Events: format.Count(u.Events), Input: "—", Output: "—"}
		if u.TokensKnown {
			r.Input, r.Output = format.Count(u.InputTokens), format.Count(u.OutputTokens)
		}
		out = append(out, r)
	}
	return out
}

// periodCharts sets the page's charts: the daily cost, the services' shares and the models.
func periodCharts(v *periodView, p PeriodPage) error {
	days := append([]DayCost(nil), p.DailyCost...)
	sort.SliceStable(days, func(i, j int) bool { return days[i].Day.Before(days[j].Day) })
	v.DailyRange = daysRange(days, p.Location)
	var err error
	if v.Daily, err = chart("chart-daily", 300, len(days) == 0, dailyCostOptions(days, p.Spikes, p.Period, p.Location)); err != nil {
		return err
	}
	if v.Pie, err = chart("chart-services", 300, len(p.Services) == 0, servicePieOptions(p.Services)); err != nil {
		return err
	}
	bars := min(len(p.Models), maxModelBars)
	if v.Models, err = chart("chart-models", max(300, 36*bars+40), len(p.Models) == 0, modelBarOptions(p.Models)); err != nil {
		return err
	}
	return nil
}

// daysRange names the days of the daily chart (sorted) by what they are: "30 days, 2 Sep – 1 Oct
// 2025", "7 days, 1 – 7 Dec 2026" (a month in progress), "1 Oct 2025"; the last one "so far".
func daysRange(days []DayCost, loc *time.Location) string {
	if len(days) == 0 {
		return ""
	}
	first, last := days[0].Day.In(loc), days[len(days)-1].Day.In(loc)
	var out string
	switch {
	case len(days) == 1:
		out = last.Format("2 Jan 2006")
	case first.Year() != last.Year():
		out = fmt.Sprintf("%d days, %s – %s", len(days), first.Format("2 Jan 2006"), last.Format("2 Jan 2006"))
	case first.Month() == last.Month():
		out = fmt.Sprintf("%d days, %d – %s", len(days), first.Day(), last.Format("2 Jan 2006"))
	default:
		out = fmt.Sprintf("%d days, %s – %s", len(days), first.Format("2 Jan"), last.Format("2 Jan 2006"))
	}
	if days[len(days)-1].Partial {
		out += " (" + last.Format("2 Jan") + " so far)"
	}
	return out
}

func costDetail(unpriced int64) string {
	if unpriced == 0 {
		return "every request priced"
	}
	return "excludes " + format.Count(unpriced) + " unpriced"
}

func chart(id string, height int, empty bool, options map[string]any) (chartView, error) {
	js, err := optionsJSON(options)
	if err != nil {
		return chartView{}, fmt.Errorf("chart %s: %w", id, err)
	}
	return chartView{ID: id, Options: js, Empty: empty, Height: height}, nil
}

type indexView struct {
	pageHead
	Budgets []budgetView
	Latest  []reportLink
	Kinds   []kindReports
	Spend   *spendView
}

// spendView is the landing page's headline.
type spendView struct {
	Title    string // "December 2026"
	Href     string // the month's page, when published
	Progress string
	Cost     string
	Change   string // "+₩1,200 (+12.5 %)"; empty: no comparison
	Tone     string
	Compare  string // what Change compares with, or why there is nothing to compare with
	Trend    chartView
	Range    string // the trend's days: "30 days, 8 Nov – 7 Dec 2026 (7 Dec so far)"
}

type kindReports struct {
	Title   string
	Reports []reportLink
}

type reportLink struct {
	Kind, Label, Range, Href, Workbook string
	InProgress                         bool // the period holds the page's time: its figures are to date
}

func newIndexView(p IndexPage) (*indexView, error) {
	title := p.Title
	if title == "" {
		title = "AI spend reports"
	}
	head, err := newHead(title, "assets/", "index.html", p.Currency, p.Location, p.GeneratedAt, p.GeneratedAt, p.Rates)
	if err != nil {
		return nil, err
	}
	v := &indexView{pageHead: head}
	if v.Budgets, err = budgetViews(p.Budgets, p.Currency, p.Location); err != nil {
		return nil, err
	}
	byKind := map[report.PeriodKind][]PublishedReport{}
	for _, r := range p.Reports {
		if err := r.Period.Validate(); err != nil {
			return nil, fmt.Errorf("published report: %w", err)
		}
		if err := checkFileName(r.Workbook); err != nil {
			return nil, fmt.Errorf("published report %s: %w", r.Period.Dir(), err)
		}
		byKind[r.Period.Kind] = append(byKind[r.Period.Kind], r)
	}
	for _, kind := range report.PeriodKinds() {
		rs := byKind[kind]
		sort.SliceStable(rs, func(i, j int) bool {
			if !rs[i].Period.Start.Equal(rs[j].Period.Start) {
				return rs[i].Period.Start.After(rs[j].Period.Start)
			}
			return rs[i].Period.Label > rs[j].Period.Label
		})
		k := kindReports{Title: kindTitle(kind) + "s"}
		for _, r := range rs {
			link := reportLink{
				Kind:  kindTitle(kind),
				Label: r.Period.Label,
				Range: periodRange(r.Period, p.Location),
				Href:  r.Period.PagePath(),
			}
			if r.Workbook != "" {
				link.Workbook = r.Period.File(r.Workbook)
			}
			link.InProgress = !p.GeneratedAt.Before(r.Period.Start) && p.GeneratedAt.Before(r.Period.End)
			k.Reports = append(k.Reports, link)
		}
		if len(k.Reports) > 0 {
			v.Latest = append(v.Latest, k.Reports[0])
		}
		v.Kinds = append(v.Kinds, k)
	}
	if p.Spend != nil {
		if v.Spend, err = newSpendView(*p.Spend, p, v.Kinds); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// newSpendView lays out the headline: the month's cost to date, its change on the comparison's
// basis (fmtDelta, as the month's page states it) and the trend of recent days.
func newSpendView(h SpendHeadline, p IndexPage, kinds []kindReports) (*spendView, error) {
	if err := h.Month.Validate(); err != nil {
		return nil, fmt.Errorf("spend headline: %w", err)
	}
	cur, loc := p.Currency, p.Location
	sv := &spendView{Title: h.Month.Start.In(loc).Format("January 2006"), Progress: h.Progress, Cost: format.Format(h.Cost, cur)}
	for _, k := range kinds {
		for _, r := range k.Reports {
			if r.Href == h.Month.PagePath() {
				sv.Href = r.Href
			}
		}
	}
	if h.Previous != nil {
		sv.Compare = h.CompareLabel
		var dir string
		sv.Change, dir = fmtDelta(h.Cost, *h.Previous, h.CompareBasis, true, func(d decimal.Decimal) string { return format.Signed(d, cur) })
		sv.Tone = upBad.tone(dir)
	}
	days := append([]DayCost(nil), h.Days...)
	sort.SliceStable(days, func(i, j int) bool { return days[i].Day.Before(days[j].Day) })
	sv.Range = daysRange(days, loc)
	var err error
	if sv.Trend, err = chart("chart-trend", 180, len(days) == 0, dailyCostOptions(days, nil, h.Month, loc)); err != nil {
		return nil, err
	}
	return sv, nil
}

// envelopeViews states each envelope budget's entities: "1,204 users spent · 3 at or over their
// envelope", and a row per entity.
func envelopeViews(envs []EnvelopeCard, cur string) ([]envelopeView, error) {
	out := make([]envelopeView, 0, len(envs))
	for _, e := range envs {
		ev := envelopeView{Budget: e.Budget, Per: e.Per, Summary: format.Entities(e.Count, e.Exceeded, len(e.Entities), e.Noun)}
		for _, l := range e.Entities {
			if !l.State.valid() {
				return nil, fmt.Errorf("envelope %q, entity %q: unknown state %q", e.Budget, l.Entity, l.State)
			}
			row := entityRow{Entity: l.Entity, Spent: format.Format(l.Spent, cur), Limit: format.Format(l.Limit, cur),
				Percent: format.Percent(l.Percent), Over: l.Over.IsPositive(), State: string(l.State), StateLabel: strings.ToUpper(string(l.State))}
			row.Left = format.Format(l.Remaining, cur) + " left"
			if row.Over {
				row.Left = "over by " + format.Format(l.Over, cur)
			}
			ev.Rows = append(ev.Rows, row)
		}
		out = append(out, ev)
	}
	return out, nil
}

func budgetViews(budgets []BudgetCard, cur string, loc *time.Location) ([]budgetView, error) {
	out := make([]budgetView, 0, len(budgets))
	for _, b := range budgets {
		if !b.State.valid() {
			return nil, fmt.Errorf("budget %q: unknown state %q", b.Name, b.State)
		}
		bv := budgetView{
			Name:       b.Name,
			Scope:      b.Scope,
			Spent:      format.Format(b.Spent, cur),
			Limit:      format.Format(b.Limit, cur),
			State:      string(b.State),
			StateLabel: strings.ToUpper(string(b.State)),
			Percent:    "—",
			Bar:        "0%",
		}
		if b.Window != "" {
			bv.Window = string(b.Window) + " budget"
		}
		if !b.ResetsAt.IsZero() {
			bv.ResetsAt = fmtTime(b.ResetsAt, loc)
			bv.Ended = !b.AsOf.IsZero() && !b.AsOf.Before(b.ResetsAt)
		}
		if !b.AsOf.IsZero() {
			bv.AsOf = fmtAsOf(b.AsOf, loc)
		}
		if b.Forecast.Valid {
			bv.Forecast = format.Format(b.Forecast.Decimal, cur)
			bv.Estimate, bv.ForecastOver = b.ForecastEstimate, b.Forecast.Decimal.GreaterThan(b.Limit)
		}
		if !b.Runway.IsZero() {
			bv.Runway = fmtTime(b.Runway, loc)
		}
		bv.Over = b.Over.IsPositive()
		bv.Remaining = format.Format(b.Remaining, cur)
		if bv.Over {
			bv.Remaining = format.Format(b.Over, cur) // "over by …"
		}
		switch {
		case b.Limit.IsPositive():
			pct := report.PercentOf(b.Spent, b.Limit)
			bv.Percent = format.Percent(pct)
			bar := decimal.Min(decimal.Max(pct, decimal.Zero), hundred)
			bv.Bar = bar.StringFixed(1) + "%"
		case b.Spent.IsPositive():
			bv.Bar = "100%"
		}
		out = append(out, bv)
	}
	return out, nil
}

func serviceRows(services []CostShare, latency []ServiceLatency, total decimal.Decimal, cur string, basis report.Basis) []serviceRow {
	lat := make(map[string]ServiceLatency, len(latency))
	for _, l := range latency {
		lat[l.Service] = l
	}
	rows := make([]serviceRow, 0, len(services))
	seen := map[string]bool{}
	row := func(name string, cost, share string, requests string) *serviceRow {
		r := serviceRow{Name: displayID(name), Cost: cost, Share: share, Requests: requests, P50: "—", P95: "—"}
		if l, ok := lat[name]; ok && l.Samples > 0 {
			r.P50, r.P95 = fmtDuration(l.P50), fmtDuration(l.P95)
		}
		rows = append(rows, r)
		seen[name] = true
		return &rows[len(rows)-1]
	}
	for _, s := range services {
		cost := format.Format(s.Cost, cur)
		if s.Unpriced {
			cost = "unpriced"
		}
		r := row(s.Name, cost, fmtShare(s.Cost, total), format.Count(s.Requests))
		if s.Members > 0 {
			r.Name = otherLabel(s.Members, "services")
		}
		r.Change, r.Tone = costChange(s.Cost, s.Previous, cur, basis)
	}
	for _, l := range latency { // a service with latency but no cost row still gets its line
		if !seen[l.Service] {
			row(l.Service, "—", "—", "—")
		}
	}
	return rows
}

func spenderRows(spenders []Spender, total decimal.Decimal, cur, noun string, basis report.Basis) []spenderRow {
	rows := make([]spenderRow, 0, len(spenders))
	for i, s := range spenders {
		r := spenderRow{
			Rank:     strconv.Itoa(i + 1),
			ID:       displayID(s.ID),
			Cost:     format.Format(s.Cost, cur),
			Share:    fmtShare(s.Cost, total),
			Requests: format.Count(s.Requests),
		}
		if s.Unpriced {
			r.Cost = "unpriced"
		}
		if s.Members > 0 {
			r.Rank, r.ID = "", otherLabel(s.Members, noun)
		}
		r.Change, r.Tone = costChange(s.Cost, s.Previous, cur, basis)
		rows = append(rows, r)
	}
	return rows
}

// otherLabel names the row that sums the values past the top N by how many it holds.
func otherLabel(n int, noun string) string {
	if n == 1 {
		noun = strings.TrimSuffix(noun, "s")
	}
	return "(other: " + format.Count(int64(n)) + " " + noun + ")"
}

// fmtChange is a cost's change from the previous period on the comparison's basis:
// "+₩1,200 (+12.5 %)", "+₩1,200" on a partial basis (report.Delta), "new" for a key or a value
// the previous period did not have, "" without a comparison; dir is up, down or flat.
func fmtChange(cur decimal.Decimal, prev Change, currency string, basis report.Basis) (text, dir string) {
	if !prev.Known {
		return "", ""
	}
	if prev.New {
		return "new", "up"
	}
	return fmtDelta(cur, prev.Cost, basis, true, func(d decimal.Decimal) string { return format.Signed(d, currency) })
}

// costChange is fmtChange with the tone of a cost: up is bad.
func costChange(cur decimal.Decimal, prev Change, currency string, basis report.Basis) (text, tone string) {
	text, dir := fmtChange(cur, prev, currency, basis)
	return text, upBad.tone(dir)
}

// upIs says what a rise of a metric means for its reader, which colours its change: a cost, a
// latency or unpriced events that rise are bad, a success or cache-hit rate that rises is good,
// and more requests are neither.
type upIs int

const (
	upNeutral upIs = iota
	upBad
	upGood
)

// tone is the colour class of a change in direction dir (up, down or flat): good, bad or neutral.
func (u upIs) tone(dir string) string {
	switch {
	case u == upNeutral || dir == "flat" || dir == "":
		return "neutral"
	case (dir == "up") == (u == upGood):
		return "good"
	}
	return "bad"
}

// fmtDelta is the change from prev to cur (report.Versus.Delta) as signed shows its amount
// (format.Signed, SignedFine or SignedCount), with its percentage when the basis has one; "no
// change" for zero, and "new" for a cost (isCost) that had no baseline. "" on no basis.
func fmtDelta(cur, prev decimal.Decimal, basis report.Basis, isCost bool, signed func(decimal.Decimal) string) (text, dir string) {
	d, ok := report.Versus{Basis: basis}.Delta(cur, prev)
	switch {
	case !ok:
		return "", ""
	case d.Amount.IsZero():
		return "no change", "flat"
	case d.New && isCost:
		return "new", "up"
	}
	text, dir = signed(d.Amount), "up"
	if d.Amount.IsNegative() {
		dir = "down"
	}
	if d.HasPercent {
		text += " (" + format.SignedPercent(d.Percent) + ")"
	}
	return text, dir
}

// kpiChanges fills each KPI's change from the previous period's KPIs: amounts and counts with
// their percentage, rates in percentage points.
func kpiChanges(kpis []kpiView, k, prev KPIs, cur string, basis report.Basis) {
	count := func(d decimal.Decimal) string { return format.SignedCount(d.IntPart()) }
	rate := report.Percent
	points := func(a, b decimal.Decimal) (string, string) {
		d := a.Sub(b).Truncate(1)
		switch d.Sign() {
		case 0:
			return "no change", "flat"
		case 1:
			return format.Points(d), "up"
		}
		return format.Points(d), "down"
	}
	for i := range kpis {
		switch kpis[i].Label {
		case "Total cost":
			kpis[i].Change, kpis[i].Dir = fmtDelta(k.TotalCost, prev.TotalCost, basis, true, func(d decimal.Decimal) string { return format.Signed(d, cur) })
		case "Requests":
			kpis[i].Change, kpis[i].Dir = fmtDelta(decimal.NewFromInt(k.Requests), decimal.NewFromInt(prev.Requests), basis, false, count)
		case "Success rate":
			if prev.Requests > 0 && k.Requests > 0 {
				kpis[i].Change, kpis[i].Dir = points(rate(k.Successes, k.Requests), rate(prev.Successes, prev.Requests))
			}
		case "Cache-hit rate":
			if prev.Requests > 0 && k.Requests > 0 {
				kpis[i].Change, kpis[i].Dir = points(rate(k.CacheHits, k.Requests), rate(prev.CacheHits, prev.Requests))
			}
		case "Avg cost / request":
			kpis[i].Change, kpis[i].Dir = fmtDelta(k.AvgCostPerRequest, prev.AvgCostPerRequest, basis, true, func(d decimal.Decimal) string { return format.SignedFine(d, cur) })
		case "Unpriced events":
			kpis[i].Change, kpis[i].Dir = fmtDelta(decimal.NewFromInt(k.Unpriced), decimal.NewFromInt(prev.Unpriced), basis, false, count)
		}
		kpis[i].Tone = kpiUp[kpis[i].Label].tone(kpis[i].Dir)
	}
}

// kpiUp is what a rise of each KPI means (upIs); a KPI not listed is neutral.
var kpiUp = map[string]upIs{
	"Total cost": upBad, "Avg cost / request": upBad, "Unpriced events": upBad,
	"Success rate": upGood, "Cache-hit rate": upGood,
}

func alertRows(alerts []Alert, cur string, loc *time.Location) ([]alertRow, error) {
	sorted := append([]Alert(nil), alerts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.After(sorted[j].At) })
	rows := make([]alertRow, 0, len(sorted))
	for _, a := range sorted {
		if !a.Severity.valid() {
			return nil, fmt.Errorf("alert for budget %q: unknown severity %q", a.Budget, a.Severity)
		}
		var kind string
		switch a.Kind {
		case AlertActual:
			kind = "actual spend"
		case AlertForecast:
			kind = "forecast"
		case AlertBurnRate:
			kind = "burn rate"
		default:
			return nil, fmt.Errorf("alert for budget %q: kind %q is not actual, forecast or burn_rate", a.Budget, a.Kind)
		}
		r := alertRow{
			When:          fmtTime(a.At, loc),
			Budget:        a.Budget,
			Threshold:     strconv.Itoa(a.Threshold) + "%",
			Severity:      string(a.Severity),
			SeverityLabel: strings.ToUpper(string(a.Severity)),
			Kind:          kind,
			BurnRate:      a.Kind == AlertBurnRate,
			Status:        a.Status,
			Period:        a.Period,
		}
		if !a.Amount.IsZero() {
			r.Amount = format.Format(a.Amount, cur)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// checkFileName accepts a bare file name (or nothing): it becomes a relative link.
func checkFileName(name string) error {
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, `/\?#`) || strings.HasPrefix(name, ".") || strings.Contains(name, ":") {
		return fmt.Errorf("linked file %q must be a plain file name", name)
	}
	return nil
}

func kindTitle(k report.PeriodKind) string {
	switch k {
	case report.Daily:
		return "Daily report"
	case report.Weekly:
		return "Weekly report"
	case report.Monthly:
		return "Monthly report"
	}
	return string(k)
}

func periodRange(p Period, loc *time.Location) string {
	start, last := p.Start.In(loc), p.End.Add(-time.Nanosecond).In(loc)
	switch p.Kind {
	case report.Daily:
		return start.Format("Monday 2 January 2006")
	case report.Monthly:
		return start.Format("January 2006")
	}
	if start.Year() != last.Year() {
		return start.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
	}
	return start.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
}

func zoneName(loc *time.Location, at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	_, offset := at.In(loc).Zone()
	sign := '+'
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("%s (UTC%c%02d:%02d)", loc.String(), sign, offset/3600, offset%3600/60)
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006, 15:04")
}

// fmtAsOf states an instant for "as of …": a midnight, the end of a period, reads as the end of
// the day before ("28 Nov 2026, 24:00"), which is what a report of the 28th means.
func fmtAsOf(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Add(-time.Nanosecond).Format("2 Jan 2006") + ", 24:00"
	}
	return t.Format("2 Jan 2006, 15:04")
}

func fmtRate(part, whole int64) string {
	if whole <= 0 {
		return "—"
	}
	return format.Percent(report.Percent(part, whole))
}

func fmtShare(part, whole decimal.Decimal) string {
	if !whole.IsPositive() {
		return "—"
	}
	return format.Percent(report.PercentOf(part, whole))
}

func fmtDuration(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// displayID shows an empty user/org/service id explicitly rather than as a blank cell.
func displayID(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
