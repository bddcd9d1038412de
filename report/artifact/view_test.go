package artifact_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/site"
)

var seoul = mustLoc("Asia/Seoul")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func totals(cost string, requests, failures, hits, unpriced int64, latency report.Histogram) report.Totals {
	return report.Totals{Requests: requests, Failures: failures, CacheHits: hits, Unpriced: unpriced, Cost: testkit.Dec(cost),
		InputTokens: requests * 10, OutputTokens: requests * 5, CacheReadTokens: requests, CacheWriteTokens: 2, ReasoningTokens: 1,
		LatencyCount: latency.Count(), Latency: latency}
}

// sampleReport is a daily report with a 30-day series, breakdowns with an "other" row and events
// without a user, and two budgets.
func sampleReport() *report.Report {
	p := report.PeriodContaining(report.Daily, time.Date(2026, 10, 1, 12, 0, 0, 0, seoul), seoul)
	hist := make(report.Histogram, report.HistogramBucket(939)+1) // 2, 2 and 939 ms
	hist[report.HistogramBucket(2)], hist[report.HistogramBucket(939)] = 2, 1
	rep := &report.Report{
		Period: p, Currency: "KRW",
		Totals: totals("1234.5678901", 10, 2, 3, 1, hist),
		Breakdowns: map[report.Dimension][]report.Row{
			report.ByService: {
				{Key: "QA_CHAT", Totals: totals("1000.0000001", 6, 1, 2, 0, hist)},
				{Key: "<b>MATCH</b>", Totals: totals("234.56789", 3, 1, 1, 1, nil)},
				{Other: true, Totals: totals("0", 1, 0, 0, 0, nil)},
			},
			report.ByModel: {{Key: "claude-sonnet-4-5", Totals: totals("1234.5678901", 10, 2, 3, 1, hist)}},
			report.ByUser: {
				{Key: "user-1", Totals: totals("1200", 8, 2, 3, 0, nil)},
				{Key: "", Totals: totals("34.5678901", 2, 0, 0, 1, nil)},
			},
			report.ByOrg: {{Key: "org-1", Totals: totals("1234.5678901", 10, 2, 3, 1, nil)}},
		},
	}
	for i := 29; i >= 0; i-- {
		d := time.Date(2026, 10, 1-i, 0, 0, 0, 0, seoul)
		rep.Series = append(rep.Series, report.Day{Date: d, Totals: totals(decimal.NewFromInt(int64(i)).String(), int64(i), 0, 0, 0, nil)})
	}
	rep.Series[29].Totals = rep.Totals
	daily := report.Budget{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("1000")}
	monthly := report.Budget{Name: "qa-monthly", Period: report.Monthly, Amount: testkit.Dec("5000"), Scope: report.Scope{Service: "QA_CHAT"}}
	at := p.End.Add(9 * time.Hour)
	rep.Budgets = []report.Status{
		report.Evaluate(daily, p, testkit.Dec("1234.5678901"), at),
		report.Evaluate(monthly, report.PeriodContaining(report.Monthly, p.Start, seoul), testkit.Dec("1000.0000001"), at),
	}
	return rep
}

// Ensures the period page shows the report's numbers exactly: KPIs from the totals, a latency
// row per service from its histogram, budget cards with their reset time, the 30-day line,
// breakdowns with "(other)" and "(none)", and the alert history with the forecast's projection.
func TestPageMapsReport(t *testing.T) {
	rep := sampleReport()
	at := time.Date(2026, 10, 2, 9, 0, 0, 0, seoul)
	alerts := []report.LedgerEntry{
		{Breach: report.Breach{Budget: "daily-total", PeriodStart: rep.Period.Start, Threshold: 80, Kind: report.Actual, Severity: report.Warning},
			Spent: testkit.Dec("812.5"), Status: report.StatusSent, CreatedAt: at.Add(-time.Hour)},
		{Breach: report.Breach{Budget: "daily-total", PeriodStart: rep.Period.Start, Threshold: 100, Kind: report.Forecast, Severity: report.Warning},
			Spent: testkit.Dec("500"), Projected: decimal.NewNullDecimal(testkit.Dec("1500.25")), Status: report.StatusPending, CreatedAt: at.Add(-2 * time.Hour)},
	}
	pg := artifact.Page(rep, alerts, at, "aispend-daily-2026-10-01.xlsx")
	if pg.Period != (site.Period{Kind: report.Daily, Label: "2026-10-01", Start: rep.Period.Start, End: rep.Period.End}) || pg.Location != seoul || pg.Currency != "KRW" {
		t.Errorf("period %+v, zone %v, currency %s", pg.Period, pg.Location, pg.Currency)
	}
	k := pg.KPIs
	if !k.TotalCost.Equal(testkit.Dec("1234.5678901")) || k.Requests != 10 || k.Successes != 8 || k.CacheHits != 3 || k.Unpriced != 1 ||
		!k.AvgCostPerRequest.Equal(rep.Totals.AvgCost()) {
		t.Errorf("KPIs %+v", k)
	}
	if len(pg.Latency) != 3 || pg.Latency[0].Service != "QA_CHAT" || pg.Latency[0].Samples != 3 ||
		pg.Latency[0].P50 != time.Duration(rep.Totals.Latency.Percentile(0.5))*time.Millisecond ||
		pg.Latency[0].P95 != time.Duration(rep.Totals.Latency.Percentile(0.95))*time.Millisecond || pg.Latency[1].Samples != 0 {
		t.Errorf("latency %+v", pg.Latency)
	}
	if pg.Latency[0].P50 != 2*time.Millisecond || pg.Latency[0].P95 != 934*time.Millisecond { // 2 ms exact; 939 ms reads as its bucket's middle, 934 (0.5 % off)
		t.Errorf("percentiles p50 %s p95 %s", pg.Latency[0].P50, pg.Latency[0].P95)
	}
	if len(pg.Services) != 3 || pg.Services[1].Name != "<b>MATCH</b>" || pg.Services[2].Name != "(other)" || !pg.Services[0].Cost.Equal(testkit.Dec("1000.0000001")) {
		t.Errorf("services %+v", pg.Services)
	}
	if len(pg.TopUsers) != 2 || pg.TopUsers[1].ID != "" || pg.TopUsers[1].Requests != 2 || len(pg.TopOrgs) != 1 || len(pg.Models) != 1 {
		t.Errorf("users %+v orgs %+v models %+v", pg.TopUsers, pg.TopOrgs, pg.Models)
	}
	if len(pg.DailyCost) != 30 || !pg.DailyCost[29].Cost.Equal(testkit.Dec("1234.5678901")) || !pg.DailyCost[0].Cost.Equal(testkit.Dec("29")) {
		t.Errorf("daily cost: %d days", len(pg.DailyCost))
	}
	b := pg.Budgets
	if len(b) != 2 || b[0].State != site.StateExceeded || !b[0].ResetsAt.Equal(rep.Period.End) || b[0].Scope != "" || b[0].Window != report.Daily ||
		b[1].Scope != "service=QA_CHAT" || b[1].State != site.StateOK || !b[1].ResetsAt.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, seoul)) ||
		!b[1].Spent.Equal(testkit.Dec("1000.0000001")) || !b[1].Limit.Equal(testkit.Dec("5000")) {
		t.Errorf("budget cards %+v", b)
	}
	a := pg.Alerts
	if len(a) != 2 || a[0].Severity != site.StateWarning || a[0].Kind != site.AlertActual || !a[0].Amount.Equal(testkit.Dec("812.5")) || a[0].Status != "sent" ||
		a[1].Kind != site.AlertForecast || !a[1].Amount.Equal(testkit.Dec("1500.25")) || !a[1].At.Equal(at.Add(-2*time.Hour)) {
		t.Errorf("alerts %+v", a)
	}
	if pg.Workbook != "aispend-daily-2026-10-01.xlsx" {
		t.Errorf("workbook link %q", pg.Workbook)
	}
	// The page renders (the site package validates states, kinds and names).
	h, err := site.PreparePeriod(pg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Write(discard{}); err != nil {
		t.Fatal(err)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// Ensures the workbook holds the same totals as the page, only the period's own days on the
// Daily sheet, and the budgets with their forecast.
func TestWorkbookMapsReport(t *testing.T) {
	rep := sampleReport()
	at := time.Date(2026, 10, 2, 9, 0, 0, 0, seoul)
	wb := artifact.Workbook(rep, nil, at, nil)
	pg := artifact.Page(rep, nil, at, "")
	s := wb.Summary
	if !s.TotalCost.Equal(pg.KPIs.TotalCost) || s.Requests != pg.KPIs.Requests || s.Successes != pg.KPIs.Successes || s.Unpriced != 1 ||
		s.Tokens.Input != 100 || s.Tokens.CacheWrite != 2 || s.Latency == nil || s.Latency.P95 != 934 {
		t.Errorf("summary %+v", s)
	}
	if len(wb.Daily) != 1 || !wb.Daily[0].Cost.Equal(testkit.Dec("1234.5678901")) || !wb.Daily[0].Day.Equal(rep.Period.Start) {
		t.Errorf("daily rows %+v; want the period's one day", wb.Daily)
	}
	if len(wb.Services) != 3 || wb.Services[2].Name != "(other)" || wb.Services[1].Latency != nil || len(wb.Users) != 2 || wb.Users[1].Name != "" {
		t.Errorf("breakdowns %+v %+v", wb.Services, wb.Users)
	}
	if len(wb.Budgets) != 2 || wb.Budgets[0].Period != "daily 2026-10-01" || !wb.Budgets[0].Forecast.Valid || wb.Budgets[1].Scope != "service=QA_CHAT" ||
		wb.Budgets[0].State != "exceeded" {
		t.Errorf("budgets %+v", wb.Budgets)
	}
	if wb.Period.Label != "2026-10-01" || wb.Location != seoul || wb.Currency != "KRW" {
		t.Errorf("period %+v", wb.Period)
	}
}

// Ensures the digest carries the report's numbers, the alerts given, the change from the
// previous period when the 30-day series holds it (days and weeks; not months), and the links.
func TestDigestMapsReport(t *testing.T) {
	rep := sampleReport()
	at := time.Date(2026, 10, 2, 9, 0, 0, 0, seoul)
	sent := []report.LedgerEntry{{Breach: report.Breach{Budget: "qa-monthly", PeriodStart: time.Date(2026, 10, 1, 0, 0, 0, 0, seoul),
		Threshold: 100, Kind: report.Forecast, Severity: report.Warning}, PeriodKind: report.Monthly, PeriodEnd: time.Date(2026, 11, 1, 0, 0, 0, 0, seoul)}}
	d := email.DigestOf(rep, sent, at, "https://r.example.com/daily/2026-10-01/index.html", "https://r.example.com/x.xlsx")
	if !d.KPIs.Cost.Equal(testkit.Dec("1234.5678901")) || d.KPIs.Requests != 10 || d.KPIs.Failures != 2 || d.Previous == nil ||
		!d.Previous.Cost.Equal(testkit.Dec("1")) || d.Previous.Requests != 1 {
		t.Errorf("KPIs %+v previous %+v", d.KPIs, d.Previous)
	}
	if len(d.Alerts) != 1 || !d.Alerts[0].Forecast || d.Alerts[0].Severity != "WARNING" || d.Alerts[0].Period != "monthly 2026-10" {
		t.Errorf("alerts %+v", d.Alerts)
	}
	if d.PageURL == "" || d.WorkbookURL == "" || !d.GeneratedAt.Equal(at) || len(d.Budgets) != 2 || d.TopUsers[1].Name != "(none)" {
		t.Errorf("digest %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}

	week := sampleReport()
	week.Period = report.PeriodContaining(report.Weekly, week.Period.Start, seoul) // 2026-09-28 … 10-04
	week.Series = week.Series[:27]                                                 // up to 2026-09-27, the previous week's last day
	wd := email.DigestOf(week, nil, at, "", "")
	// Previous week: 2026-09-21 … 27, series values 10 … 4 (value = days before 1 October).
	if wd.Previous == nil || !wd.Previous.Cost.Equal(testkit.Dec("49")) || wd.Previous.Requests != 49 {
		t.Errorf("weekly previous %+v", wd.Previous)
	}
	month := sampleReport()
	month.Period = report.PeriodContaining(report.Monthly, month.Period.Start, seoul)
	if md := email.DigestOf(month, nil, at, "", ""); md.Previous != nil {
		t.Errorf("monthly previous %+v; the series does not hold September", md.Previous)
	}
}

// Ensures the page of a month in progress marks the run's own day as partial (its cost so far)
// and no other day, and a finished period none.
func TestPageMarksTheDayInProgress(t *testing.T) {
	rep := sampleReport()
	rep.Period = report.PeriodContaining(report.Monthly, rep.Period.Start, seoul)
	rep.AsOf = time.Date(2026, 10, 1, 15, 30, 0, 0, seoul)
	days := artifact.Page(rep, nil, rep.AsOf, "").DailyCost
	for i, d := range days {
		if want := i == len(days)-1; d.Partial != want {
			t.Errorf("%s: partial %v, want %v", d.Day.Format(time.DateOnly), d.Partial, want)
		}
	}
	if last := days[len(days)-1].Day; !last.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)) {
		t.Errorf("last day drawn %s, want the run's day", last)
	}
	rep.AsOf = time.Time{}
	for _, d := range artifact.Page(rep, nil, rep.Period.End, "").DailyCost {
		if d.Partial {
			t.Errorf("%s is partial in a finished period", d.Day.Format(time.DateOnly))
		}
	}
}
