package artifact_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

// monthFixture is a batch job over two months of events (October and November 2026, Seoul):
// every day QA_CHAT costs 2 and SUMMARY 1 (₩3 a day), on 29 November QA_CHAT costs 40 more (a
// spike), and every day one event of the model "mystery-model" has no price. Mail goes to
// Mailpit, the site to a directory.
type monthFixture struct {
	env  *env
	dir  string
	smtp *mailtest.Server
	job  *report.Job
}

var (
	monthlyBudget = report.Budget{Name: "monthly-total", Period: report.Monthly, Amount: testkit.Dec("92")}
	dailyBudget   = report.Budget{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("3.5"), Thresholds: []int{50}}
)

func newMonthFixture(t *testing.T, now time.Time) *monthFixture {
	t.Helper()
	e := newEnv(t)
	e.now = now
	var rows []collect.Row
	// Events up to the day of now: a period in progress has no data after it.
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, seoul)
	if y, m, dd := now.In(seoul).Date(); time.Date(y, m, dd+1, 0, 0, 0, 0, seoul).Before(end) {
		end = time.Date(y, m, dd+1, 0, 0, 0, 0, seoul)
	}
	for d := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul); d.Before(end); d = d.AddDate(0, 0, 1) {
		add := func(service, model, cost string, cacheRead int64) {
			r := collect.Row{
				EventID: fmt.Sprintf("%s-%s-%d", d.Format(time.DateOnly), service, len(rows)), OccurredAt: d.Add(time.Duration(len(rows)%20+1) * time.Hour / 2),
				Service: service, Model: model, Provider: "anthropic", InputTokens: 1000, OutputTokens: 100,
				CacheReadTokens: cacheRead, CostSource: "provider", DurationMS: 300, Success: true, UserID: "u-" + service,
				OrgID: "org-" + service,
			}
			if cost == "" {
				r.CostSource = "none"
			} else {
				r.Cost = decimal.NewNullDecimal(testkit.Dec(cost))
			}
			rows = append(rows, r)
		}
		add("QA_CHAT", "claude-sonnet-4-5", "2", 400)
		add("SUMMARY", "claude-haiku-4-5", "1", 0)
		add("SUMMARY", "mystery-model", "", 0)
		if d.Month() == time.November && d.Day() == 29 {
			add("QA_CHAT", "claude-sonnet-4-5", "40", 0)
		}
	}
	s := pgstore.New(e.pool, pgstore.Options{})
	defer s.Close()
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	srv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	budgets := []report.Budget{monthlyBudget, dailyBudget}
	st := pgquery.New(e.pool)
	o, err := artifact.New(artifact.Config{
		Store: st, Target: publish.Dir{Root: dir, PublicURL: "https://reports.example.com"}, Sender: sender, Budgets: budgets, Location: seoul,
		From: "aispend@example.com", Recipients: []string{"cfo@example.com"}, Now: func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	job := &report.Job{Store: st, ComposeAlert: email.AlertEmail, Sender: sender, Budgets: budgets, Location: seoul, Currency: "KRW",
		From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
		Outputs: o, Now: func() time.Time { return e.now }, TopN: 1,
		// The run for 28 November happens on 1 December: a grace of a week still sends its alerts.
		AlertGrace: 7 * 24 * time.Hour,
		// ₩0.01 saved per cache-read token of the priced model (QA_CHAT reads 400 a day).
		CacheSaving: &report.CacheSaving{Saved: func(model, provider string, day time.Time, _, tokens int64) (decimal.Decimal, bool) {
			if model != "claude-sonnet-4-5" {
				return decimal.Zero, false
			}
			return decimal.NewFromInt(tokens).Shift(-2), true
		}}}
	return &monthFixture{env: e, dir: dir, smtp: srv, job: job}
}

// run runs the batch for p and returns the published page's path, the workbook's path and the
// digest as Mailpit received it (empty when an earlier run sent it).
func (f *monthFixture) run(t *testing.T, p report.Period) (page, book string, digest mailtest.Detail) {
	t.Helper()
	f.smtp.DeleteAll(t)
	res, err := f.job.Run(context.Background(), p, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sp := artifact.SitePeriod(res.Period)
	var id string
	for _, m := range f.smtp.Messages(t) {
		if strings.Contains(m.Subject, "digest") || !strings.Contains(m.Subject, "budget") {
			id = m.ID
		}
	}
	if id == "" {
		return filepath.Join(f.dir, sp.PagePath()), filepath.Join(f.dir, sp.Dir(), sp.WorkbookName()), mailtest.Detail{} // sent by an earlier run
	}
	return filepath.Join(f.dir, sp.PagePath()), filepath.Join(f.dir, sp.Dir(), sp.WorkbookName()), f.smtp.Message(t, id)
}

// openPage loads a published page in Chromium and waits for its charts.
func openPage(t *testing.T, path string) (context.Context, *browsertest.Page) {
	t.Helper()
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	p, err := b.NewPage(ctx, 1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, (&url.URL{Scheme: "file", Path: path}).String()); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, "document.querySelectorAll('.chart').length === 0 || document.querySelectorAll('.chart canvas').length === document.querySelectorAll('.chart').length"); err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Errors() {
		t.Errorf("browser reported %s", m)
	}
	return ctx, p
}

func evalString(t *testing.T, ctx context.Context, p *browsertest.Page, expr string) string {
	t.Helper()
	var s string
	if err := p.Eval(ctx, expr, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// sheetRows reads a workbook sheet's formatted rows.
func sheetRows(t *testing.T, path, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Ensures a report of a past day states the monthly budget as it stood at the end of that day
// (the spend of 1–28 November, ₩84 of ₩92: WARNING), not as of the run (the whole month, ₩90 +
// the spike: EXCEEDED), and says "as of": on the page (Chromium), in the digest (Mailpit) and on
// the workbook's Budgets & alerts sheet.
func TestPastReportStatesBudgetsAsOfPeriodEnd(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 1, 9, 0, 0, 0, seoul))
	page, book, msg := f.run(t, day28Nov())
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}

	ctx, p := openPage(t, page)
	card := evalString(t, ctx, p, `Array.from(document.querySelectorAll('.budget')).find(e => e.textContent.includes('monthly-total')).innerText`)
	for _, want := range []string{"WARNING", "₩84", "of ₩92", "As of 28 Nov 2026, 24:00"} {
		if !strings.Contains(card, want) {
			t.Errorf("monthly budget card %q lacks %q", card, want)
		}
	}
	if strings.Contains(card, "EXCEEDED") || strings.Contains(card, "₩130") {
		t.Errorf("monthly budget card %q counts days after the report's period", card)
	}
	// The alert history names the period of each alert, and the daily alert this run sent for 28
	// November (on 1 December) says that its period had ended.
	if got := pageText(t, ctx, p, ".timeline"); !strings.Contains(got, "daily-total crossed 50% on actual spend (₩3) for daily 2026-11-28") {
		t.Errorf("alert history %q", got)
	}
	// Every alert of this run is for a period over by 1 December (the day, and November of the
	// monthly budget): each names its period and says it ended, none says when it resets.
	var daily bool
	for _, m := range f.smtp.Messages(t) {
		d := f.smtp.Message(t, m.ID)
		if len(d.Headers["X-Aispend-Alert"]) == 0 {
			continue
		}
		daily = daily || strings.Contains(d.Text, "Period:    daily 2026-11-28")
		if !strings.Contains(d.Text, "this alert is sent after its period ended") || strings.Contains(d.Text, "Resets:") {
			t.Errorf("alert for an ended period:\n%s", d.Text)
		}
	}
	if !daily {
		t.Error("no alert names daily 2026-11-28")
	}

	for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
		if !strings.Contains(body, "₩84 of ₩92") || !strings.Contains(body, "as of 28 Nov 2026, 24:00") {
			t.Errorf("digest %s part lacks the monthly budget as of 28 November:\n%s", part, body)
		}
	}

	var found bool
	for _, r := range sheetRows(t, book, sheet.SheetBudgets) {
		if len(r) > 9 && r[0] == "monthly-total" {
			found = true
			if r[4] != "₩84" || r[8] != "warning" || !strings.HasPrefix(r[9], "2026-11-29 00:00") {
				t.Errorf("Budgets & alerts row %q: want spent ₩84, warning, as of 2026-11-29 00:00", r)
			}
		}
	}
	if !found {
		t.Error("no monthly-total row on the Budgets & alerts sheet")
	}
}

func day28Nov() report.Period {
	return report.PeriodContaining(report.Daily, time.Date(2026, 11, 28, 0, 0, 0, 0, seoul), seoul)
}

// pageText is the visible text of the element matching selector ("" when absent).
func pageText(t *testing.T, ctx context.Context, p *browsertest.Page, selector string) string {
	t.Helper()
	return evalString(t, ctx, p, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, selector))
}

// Ensures the November page compares with October (KPI change, a change column and a total row
// in every table), names the "(other)" rows by size, marks the spike of 29 November on the chart
// and under it, names the model without a price with its event and token counts and labels its
// bar "unpriced", and labels the service donut with values.
func TestPageShowsChangesSpikesAndUnpriced(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 1, 9, 0, 0, 0, seoul))
	nov := report.PeriodContaining(report.Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	f.job.TopN = 10
	page, _, _ := f.run(t, nov)
	ctx, p := openPage(t, page)

	// The monthly budget has its card; the daily one is summed up over the month (29 November
	// alone exceeded ₩3.5), never shown for a single day.
	if got := pageText(t, ctx, p, ".budget-summaries"); got != "daily-total: exceeded on 1 of 30 days" {
		t.Errorf("budget summaries %q", got)
	}
	var cards []string
	if err := p.Eval(ctx, `Array.from(document.querySelectorAll('.budget h3')).map(h => h.textContent)`, &cards); err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 || cards[0] != "monthly-total" {
		t.Errorf("budget cards %v; want monthly-total alone", cards)
	}
	// November: 30 × ₩3 + ₩40 = ₩130; October: 31 × ₩3 = ₩93.
	if got := pageText(t, ctx, p, ".kpi .kpi-change"); got != "+₩37 (+39.7 %) vs October 2026" {
		t.Errorf("total cost change %q", got)
	}
	if got := pageText(t, ctx, p, ".spikes"); !strings.Contains(got, "29 Nov: ₩43") || strings.Count(got, "₩") != 2 {
		t.Errorf("spike days %q; want 29 Nov alone", got)
	}
	var marks []string
	if err := p.Eval(ctx, `echarts.getInstanceByDom(document.getElementById('chart-daily')).getOption().series[0].markPoint.data.map(d => d.coord[0])`, &marks); err != nil {
		t.Fatal(err)
	}
	if len(marks) != 1 || marks[0] != "29 Nov" {
		t.Errorf("spike marks on the chart %v; want [29 Nov]", marks)
	}

	unpriced := pageText(t, ctx, p, ".unpriced table")
	if !strings.Contains(unpriced, "mystery-model\tanthropic\t30\t30,000\t3,000") {
		t.Errorf("unpriced models:\n%s", unpriced)
	}
	var labels []string
	if err := p.Eval(ctx, `(() => { const o = echarts.getInstanceByDom(document.getElementById('chart-models')).getOption();
		const s = o.series[0]; return s.data.map((d, i) => s.label.formatter({value: d.value, data: d})); })()`, &labels); err != nil {
		t.Fatal(err)
	}
	if !containsString(labels, "unpriced") || containsString(labels, "₩0") {
		t.Errorf("model bar labels %v; want mystery-model as unpriced, never ₩0", labels)
	}
	var pie []string
	if err := p.Eval(ctx, `(() => { const s = echarts.getInstanceByDom(document.getElementById('chart-services')).getOption().series[0];
		return s.label.show ? s.data.map(d => s.label.formatter({name: d.name, value: d.value, percent: 50})) : []; })()`, &pie); err != nil {
		t.Fatal(err)
	}
	if len(pie) != 2 || !strings.Contains(pie[0], "QA_CHAT\n₩100") {
		t.Errorf("donut labels %q; want name and value on every slice", pie)
	}
	// Top 1 of each table: the rest is one "(other)" row.
	f.job.TopN = 1
	page, _, _ = f.run(t, nov)
	ctx, p = openPage(t, page)
	services := strings.ToLower(pageText(t, ctx, p, ".panel table"))
	for _, want := range []string{"change", "(other: 1 service)", "total\t₩130\t+₩37 (+39.7 %)\t100.0 %\t91"} {
		if !strings.Contains(services, want) {
			t.Errorf("services table lacks %q:\n%s", want, services)
		}
	}
	var tables []string
	if err := p.Eval(ctx, `Array.from(document.querySelectorAll('.tables .panel table')).map(t => t.innerText)`, &tables); err != nil {
		t.Fatal(err)
	}
	if len(tables) != 3 {
		t.Fatalf("%d top tables; want users, organisations and endpoints", len(tables))
	}
	for i, noun := range []string{"user", "organisation"} {
		for _, want := range []string{"(other: 1 " + noun + ")", "total\t₩130"} {
			if !strings.Contains(strings.ToLower(tables[i]), want) {
				t.Errorf("top %ss lacks %q:\n%s", noun, want, tables[i])
			}
		}
		if strings.Contains(tables[i], "\n2\t") {
			t.Errorf("top %ss ranks the (other) row:\n%s", noun, tables[i])
		}
	}

}

// Ensures a month in progress is labelled as such with its forecast, compares with the same
// days of the month before, and draws no day after the run.
func TestPageOfMonthInProgress(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 11, 10, 12, 0, 0, 0, seoul))
	// 5 November has no event at all: a gap in the line, not a zero.
	if _, err := f.env.pool.Exec(context.Background(), `DELETE FROM events WHERE occurred_at >= $1 AND occurred_at < $2`,
		time.Date(2026, 11, 5, 0, 0, 0, 0, seoul), time.Date(2026, 11, 6, 0, 0, 0, 0, seoul)); err != nil {
		t.Fatal(err)
	}
	nov := report.PeriodContaining(report.Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	page, _, _ := f.run(t, nov)
	ctx, p := openPage(t, page)
	if got := pageText(t, ctx, p, ".meta.progress"); !strings.HasPrefix(got, "month to date, 10 of 30 days · forecast ₩") {
		t.Errorf("progress %q", got)
	}
	if got := pageText(t, ctx, p, ".kpi .kpi-change"); got != "−₩3 (−10.0 %) vs 1–10 Oct (same 10 days)" {
		t.Errorf("total cost change %q", got)
	}
	if got := pageText(t, ctx, p, ".budget-summaries"); got != "daily-total: exceeded on 0 of 10 days so far (30 in the period)" {
		t.Errorf("budget summaries %q", got)
	}
	var points int
	if err := p.Eval(ctx, `echarts.getInstanceByDom(document.getElementById('chart-daily')).getOption().series[0].data.length`, &points); err != nil {
		t.Fatal(err)
	}
	if points != 10 {
		t.Errorf("the chart draws %d days; want 1–10 November", points)
	}
	var gap string
	if err := p.Eval(ctx, `String(echarts.getInstanceByDom(document.getElementById('chart-daily')).getOption().series[0].data[4].value)`, &gap); err != nil {
		t.Fatal(err)
	}
	if gap != "-" {
		t.Errorf("5 November (no events) is drawn as %q; want a gap (\"-\")", gap)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Ensures the November digest (Mailpit, text and HTML parts) lists the biggest movers against
// October, names the spike of 29 November and the model without a price with its counts, and
// states the prompt-cache savings; and the workbook's Summary states the savings and the unpriced
// model, and its By model sheet shows that model's cost as "unpriced", not ₩0.
func TestDigestAndWorkbookNameWhatChanged(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 1, 9, 0, 0, 0, seoul))
	f.job.TopN = 10
	nov := report.PeriodContaining(report.Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	_, book, msg := f.run(t, nov)
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}
	for part, body := range map[string]string{"text": msg.Text, "html": html.UnescapeString(msg.HTML)} {
		for _, want := range []string{
			"Biggest movers", "service QA_CHAT: +₩38 (₩62 → ₩100)",
			"Spike days", "29 Nov: ₩43, above twice the median ₩3 of the 30 days before",
			"mystery-model: 30 events unpriced (30,000 input, 3,000 output tokens)",
			"Cache reads saved ₩120 against the uncached input price",
			"daily-total: exceeded on 1 of 30 days",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("digest %s part lacks %q", part, want)
			}
		}
	}
	if !strings.Contains(msg.Text, "mystery-model: unpriced (") || strings.Contains(msg.Text, "mystery-model: ₩0") {
		t.Errorf("digest top models show the unpriced model's cost as ₩0:\n%s", msg.Text)
	}
	summary := map[string][]string{}
	for _, r := range sheetRows(t, book, sheet.SheetSummary) {
		if len(r) > 1 {
			summary[r[0]] = append(summary[r[0]], r[1])
		}
	}
	if got := summary["Prompt-cache savings"]; len(got) != 1 || got[0] != "₩120" {
		t.Errorf("Summary prompt-cache savings %q; want ₩120", got)
	}
	if got := summary["Unpriced model"]; len(got) != 1 || got[0] != "mystery-model (anthropic): 30 events, 30,000 input and 3,000 output tokens" {
		t.Errorf("Summary unpriced models %q", got)
	}
	var found bool
	for _, r := range sheetRows(t, book, sheet.SheetModels) {
		if len(r) > 1 && r[0] == "mystery-model" {
			found = true
			if r[1] != "unpriced" {
				t.Errorf("By model: mystery-model costs %q; want unpriced", r[1])
			}
		}
	}
	if !found {
		t.Error("By model lacks mystery-model")
	}
}
