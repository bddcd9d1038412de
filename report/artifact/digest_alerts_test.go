package artifact_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
)

// Ensures the digest's alerts block lists every alert the ledger recorded for the period, each
// threshold with its period: the 50 % alert a budget check sent at noon, and the 95 % one the
// nightly run sent with the 80 % it named (recorded, with no email of its own); not only the one
// email the nightly run sent. Read from the digest as Mailpit received it, HTML and text.
func TestDigestListsEveryAlertOfThePeriod(t *testing.T) {
	e := newEnv(t)
	srv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	budgets := []report.Budget{{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("100")}} // 50, 80, 95 %
	st := pgquery.New(e.pool)
	o, err := artifact.New(artifact.Config{
		Store: st, Target: publish.Dir{Root: t.TempDir()}, Sender: sender, Budgets: budgets, Location: seoul,
		From: "aispend@example.com", Recipients: []string{"cfo@example.com"}, Now: func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	job := &report.Job{Store: st, ComposeAlert: email.AlertEmail, Sender: sender, Budgets: budgets, Location: seoul, Currency: "USD",
		From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
		Outputs: o, Now: func() time.Time { return e.now }}
	add := func(at time.Time, cost string) {
		t.Helper()
		s := pgstore.New(e.pool, pgstore.Options{})
		defer s.Close()
		if _, _, err := s.Insert(context.Background(), []collect.Row{{EventID: fmt.Sprintf("ev-%s", cost), OccurredAt: at,
			Service: "QA_CHAT", Model: "gpt-4o", InputTokens: 10, OutputTokens: 5, CostSource: "provider", Success: true,
			Cost: decimal.NewNullDecimal(testkit.Dec(cost))}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	d := day(2)
	add(d.Start.Add(9*time.Hour), "60")
	e.now = d.Start.Add(12 * time.Hour) // the budget check at noon: 60 %
	if res, err := job.Run(ctx, d, report.RunOptions{Steps: report.StepAlerts}); err != nil || res.Alerts.Sent != 1 {
		t.Fatalf("budget check: %v, %+v", err, res.Alerts)
	}
	add(d.Start.Add(15*time.Hour), "39")
	e.now = d.End.Add(9 * time.Hour) // the nightly run: 99 %
	srv.DeleteAll(t)
	res, err := job.Run(ctx, d, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 1 || res.Alerts.Covered != 1 {
		t.Fatalf("nightly run: %+v; want the 95 %% email naming 80 %%", res.Alerts)
	}
	var digest mailtest.Detail
	for _, m := range srv.Messages(t) {
		if strings.Contains(m.Subject, "digest") {
			digest = srv.Message(t, m.ID)
		}
	}
	if digest.ID == "" {
		t.Fatal("no digest in Mailpit")
	}
	for part, body := range map[string]string{"html": strings.ReplaceAll(digest.HTML, "&#34;", "\""), "text": digest.Text} {
		block := body[strings.Index(body, "Alerts in this period"):]
		for _, th := range []int{95, 80, 50} {
			want := fmt.Sprintf("Budget “daily-total” reached %d %% (daily 2026-10-02)", th)
			if !strings.Contains(block, want) {
				t.Errorf("%s: the alerts block lacks %q:\n%s", part, want, block[:min(len(block), 1200)])
			}
		}
		if strings.Contains(block, "not sent yet") {
			t.Errorf("%s: an alert recorded as sent reads as not sent", part)
		}
	}
}
