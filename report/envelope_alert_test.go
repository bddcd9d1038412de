package report_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/pgquery"
)

// perUser is a daily envelope per user: 100 each, alice 20, bob nothing.
func perUser() report.Budget {
	b := daily("per-user", "100")
	b.Per = report.Per{Field: report.PerUserID}
	b.Overrides = map[string]decimal.Decimal{"alice": decimal.NewFromInt(20), "bob": decimal.Zero}
	return b
}

// entityLedger is every row of entity_alerts, as "entity threshold status".
func entityLedger(t *testing.T, f *fixture, b report.Budget, p report.Period) []string {
	t.Helper()
	es, err := f.store.EntityAlerts(context.Background(), b.Name, p.Start)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Entity+" "+itoa(e.Threshold)+" "+e.Status)
	}
	return out
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }

// Ensures each entity of an envelope budget alerts on its own envelope (overrides and 0 = no
// spend included), once per (budget, entity, period, threshold), in one email per budget period
// listing every entity that crossed, when four runs (each with its own connection pool, as
// separate processes) race; the envelope's total never alerts as a budget; a later run that
// finds a new crossing sends one more email naming only it.
func TestEntityAlertsOncePerEntityAcrossConcurrentRuns(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool,
		ev{at: day1.Add(time.Hour), user: "alice", cost: "10"},     // 50 % of 20
		ev{at: day1.Add(time.Hour), user: "bob", cost: "0.01"},     // over 0: every threshold
		ev{at: day1.Add(2 * time.Hour), user: "carol", cost: "80"}, // 80 % of 100
		ev{at: day1.Add(2 * time.Hour), user: "dave", cost: "49.99"},
		ev{at: day1.Add(3 * time.Hour), user: "", cost: "500"}, // nobody's envelope
	)
	f.mail.delay = 200 * time.Millisecond // keep each send in flight while the other runs look
	p := report.PeriodContaining(report.Daily, day1, seoul)
	b := perUser()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pool, err := pgxpool.New(context.Background(), f.url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		job := f.job(b)
		job.ComposeEntityAlert = email.EntityAlertEmail
		job.Store = pgquery.New(pool)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = job.Run(context.Background(), p, report.RunOptions{Steps: report.StepAlerts})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"alice 50 sent", "bob 50 sent", "bob 80 sent", "bob 95 sent", "carol 50 sent", "carol 80 sent"}
	if got := entityLedger(t, f, b, p); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("entity ledger %v\nwant %v", got, want)
	}
	if ids := f.delivered(t); len(ids) != 1 {
		t.Fatalf("Mailpit received %d emails; want one for the budget period", len(ids))
	}
	msg := f.mail.msgs[0]
	for _, who := range []string{"alice", "bob", "carol"} {
		if !strings.Contains(string(msg.Text), "- "+who+":") {
			t.Errorf("the email does not name %s:\n%s", who, msg.Text)
		}
	}
	if strings.Contains(string(msg.Text), "dave") || !strings.Contains(msg.Subject, "3 entities") {
		t.Errorf("subject %q, text:\n%s", msg.Subject, msg.Text)
	}
	if l := f.ledger(t); len(l) != 0 {
		t.Errorf("the envelope's total alerted as a budget: %+v", l)
	}

	// Dave crosses 50 %: the next run sends one email naming only him; a re-run nothing.
	insert(t, f.pool, ev{at: day1.Add(4 * time.Hour), user: "dave", cost: "0.01"})
	f.mail.delay = 0
	job := f.job(b)
	job.ComposeEntityAlert = email.EntityAlertEmail
	for run := 0; run < 2; run++ {
		if _, err := job.Run(context.Background(), p, report.RunOptions{Steps: report.StepAlerts}); err != nil {
			t.Fatal(err)
		}
	}
	if ids := f.delivered(t); len(ids) != 2 {
		t.Fatalf("Mailpit received %d emails; want 2", len(ids))
	}
	if text := string(f.mail.msgs[1].Text); !strings.Contains(text, "- dave:") || strings.Contains(text, "carol") {
		t.Errorf("second email:\n%s", text)
	}
}

// Ensures a failed send leaves the entity alerts pending, and the next run, finding them in the
// ledger, sends them in one email.
func TestEntityAlertsRetriedAfterFailedSend(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), user: "carol", cost: "60"})
	p := report.PeriodContaining(report.Daily, day1, seoul)
	b := perUser()
	job := f.job(b)
	job.ComposeEntityAlert = email.EntityAlertEmail
	f.smtp.Stop()
	if res, err := job.Run(context.Background(), p, report.RunOptions{Steps: report.StepAlerts}); err == nil || res.Alerts.Failed != 1 {
		t.Fatalf("run with SMTP down: err %v, failed %d", err, res.Alerts.Failed)
	}
	if got := entityLedger(t, f, b, p); strings.Join(got, ", ") != "carol 50 pending" {
		t.Fatalf("ledger after a failed send: %v", got)
	}
	f.smtp.Restart(t)
	if _, err := job.Run(context.Background(), p, report.RunOptions{Steps: report.StepAlerts}); err != nil {
		t.Fatal(err)
	}
	if got := entityLedger(t, f, b, p); strings.Join(got, ", ") != "carol 50 sent" {
		t.Errorf("ledger after the retry: %v", got)
	}
	if ids := f.delivered(t); len(ids) != 1 {
		t.Errorf("Mailpit received %d emails; want 1", len(ids))
	}
}
