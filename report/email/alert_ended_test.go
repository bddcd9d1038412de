package email_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
)

// Ensures an alert sent after its period ended (a run the morning after) says so, in both parts
// as Mailpit receives them, names the period, and gives no "until it resets" advice; one sent
// during the period still says when it resets.
func TestAlertAfterPeriodEnded(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	srv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := report.PeriodContaining(report.Daily, time.Date(2026, 11, 28, 12, 0, 0, 0, seoul), seoul)
	b := report.Budget{Name: "daily-total", Period: report.Daily, Amount: decimal.NewFromInt(100)}
	for _, tc := range []struct {
		name  string
		asOf  time.Time
		want  []string
		never []string
	}{
		{"after", p.End.Add(9 * time.Hour), []string{"daily 2026-11-28", "this alert is sent after its period ended", "Ended:     Sun 29 Nov 2026 00:00 KST"},
			[]string{"Resets:", "until then", "resets Sun"}},
		{"during", p.End.Add(-time.Hour), []string{"daily 2026-11-28", "Resets:    Sun 29 Nov 2026 00:00 KST", "until then every further request adds to the overrun"},
			[]string{"Ended:", "period ended"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.DeleteAll(t)
			st := report.Evaluate(b, p, decimal.NewFromInt(120), tc.asOf)
			br := report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: 95, Kind: report.Actual, Severity: report.Critical}
			e, err := email.AlertEmail(report.AlertInput{Status: st, Breach: br, MessageID: br.MessageID("", "example.com"), Currency: "KRW",
				From: "aispend@example.com", To: []string{"a@example.com"}, AsOf: tc.asOf, Location: seoul})
			if err != nil {
				t.Fatal(err)
			}
			if err := sender.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			msgs := srv.WaitFor(t, 1, 10*time.Second)
			m := srv.Message(t, msgs[0].ID)
			body := m.Text + "\n" + html.UnescapeString(m.HTML)
			for _, w := range tc.want {
				if !strings.Contains(body, w) && !strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
					t.Errorf("alert lacks %q:\n%s", w, m.Text)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(body, w) {
					t.Errorf("alert says %q:\n%s", w, m.Text)
				}
			}
		})
	}
}
