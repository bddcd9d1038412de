package output_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/browsertest"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/mailtest"
	"github.com/aispend/aispend/report/output"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/xlsx"
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
	monthlyBudget = report.Budget{Name: "monthly-total", Period: report.Monthly, Amount: dec("92")}
	dailyBudget   = report.Budget{Name: "daily-total", Period: report.Daily, Amount: dec("3.5"), Thresholds: []int{50}}
)

func newMonthFixture(t *testing.T, now time.Time) *monthFixture {
	t.Helper()
	e := newEnv(t)
	e.now = now
	var rows []collect.Row
	for d := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul); d.Before(time.Date(2026, 12, 1, 0, 0, 0, 0, seoul)); d = d.AddDate(0, 0, 1) {
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
				r.Cost = decimal.NewNullDecimal(dec(cost))
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
	o, err := output.New(output.Config{
		Store: st, Target: publish.Dir{Root: dir, PublicURL: "https://reports.example.com"}, Sender: sender, Budgets: budgets, Location: seoul,
		From: "aispend@example.com", Recipients: []string{"cfo@example.com"}, Now: func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	job := &report.Job{Store: st, Sender: sender, Budgets: budgets, Location: seoul, Currency: "KRW",
		From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
		Outputs: o.Steps(), Now: func() time.Time { return e.now }}
	return &monthFixture{env: e, dir: dir, smtp: srv, job: job}
}

// run runs the batch for p and returns the published page's path, the workbook's path and the
// digest as Mailpit received it.
func (f *monthFixture) run(t *testing.T, p report.Period) (page, book string, digest mailtest.Detail) {
	t.Helper()
	f.smtp.DeleteAll(t)
	res, err := f.job.Run(context.Background(), p, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sp := output.SitePeriod(res.Period)
	var id string
	for _, m := range f.smtp.Messages(t) {
		if strings.Contains(m.Subject, "digest") || !strings.Contains(m.Subject, "budget") {
			id = m.ID
		}
	}
	if id == "" {
		t.Fatalf("no digest among %+v", f.smtp.Messages(t))
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

	for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
		if !strings.Contains(body, "₩84 of ₩92") || !strings.Contains(body, "as of 28 Nov 2026, 24:00") {
			t.Errorf("digest %s part lacks the monthly budget as of 28 November:\n%s", part, body)
		}
	}

	var found bool
	for _, r := range sheetRows(t, book, xlsx.SheetBudgets) {
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
