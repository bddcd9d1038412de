package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/aispend/aispend/report"
)

// Ensures an alert of a budget period that ended longer ago than the grace (a backfill a week
// later) is recorded in the ledger as stale and listed, but no email reaches Mailpit, and later
// runs neither send nor claim it again; within the grace (the morning after), or with a longer
// alerts.grace, the same alert is sent.
func TestBackfillAlertIsStale(t *testing.T) {
	p := report.PeriodContaining(report.Daily, day1, seoul)
	for _, tc := range []struct {
		name  string
		now   time.Time
		grace time.Duration
		sent  bool
	}{
		{"a week later", p.End.Add(7 * 24 * time.Hour), 0, false},
		{"the morning after", p.End.Add(9 * time.Hour), 0, true},
		{"a week later, grace 10 days", p.End.Add(7 * 24 * time.Hour), 10 * 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.now = tc.now
			insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
			job := f.job(daily("d", "100"))
			job.AlertGrace = tc.grace
			ctx := context.Background()
			for run := 1; run <= 2; run++ {
				res, err := job.Run(ctx, p, report.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				e := f.ledger(t)
				if len(e) != 1 || e[0].Threshold != 50 {
					t.Fatalf("run %d: ledger %+v; want the 50 %% alert", run, e)
				}
				ids := f.delivered(t)
				if !tc.sent {
					if e[0].Status != report.StatusStale || len(ids) != 0 || res.Alerts.Sent != 0 {
						t.Errorf("run %d: status %s, emails %v, sent %d; want stale and no email", run, e[0].Status, ids, res.Alerts.Sent)
					}
					if want := map[int]int{1: 1, 2: 0}[run]; res.Alerts.Stale != want {
						t.Errorf("run %d: %d stale; want %d (recorded once)", run, res.Alerts.Stale, want)
					}
					continue
				}
				if e[0].Status != report.StatusSent || len(ids) != 1 || ids[0] != e[0].MessageID || res.Alerts.Stale != 0 {
					t.Errorf("run %d: status %s, emails %v, stale %d; want one email", run, e[0].Status, ids, res.Alerts.Stale)
				}
			}
		})
	}
}

// Ensures an alert left pending by failed sends stops being retried once its period ended longer
// ago than the grace: the run records it as stale and sends nothing, though SMTP is back.
func TestPendingAlertBecomesStale(t *testing.T) {
	f := setup(t)
	p := report.PeriodContaining(report.Daily, day1, seoul)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	job := f.job(daily("d", "100"))
	ctx := context.Background()
	f.smtp.Stop()
	if res, err := job.Run(ctx, p, report.RunOptions{}); err == nil || res.Alerts.Failed != 1 {
		t.Fatalf("run with SMTP down: err %v, failed %d", err, res.Alerts.Failed)
	}
	f.smtp.Restart(t)
	f.now = p.End.Add(report.DefaultAlertGrace + time.Hour)
	// A run for today: the pending alert of day 1 is found in the ledger, not among its breaches.
	res, err := job.Run(ctx, report.PeriodContaining(report.Daily, f.now, seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := f.ledger(t)
	if len(e) != 1 || e[0].Status != report.StatusStale || res.Alerts.Stale != 1 || res.Alerts.Sent != 0 {
		t.Fatalf("ledger %+v, stale %d, sent %d; want the pending alert recorded stale", e, res.Alerts.Stale, res.Alerts.Sent)
	}
	if ids := f.delivered(t); len(ids) != 0 {
		t.Errorf("Mailpit received %v; want nothing", ids)
	}
}
