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

// Ensures a CRITICAL alert whose spend is far past its threshold and over the limit says how far,
// in the subject and in both parts as Mailpit receives them: the actual percent, "over by" the
// amount instead of "Remaining ₩0"; and that the action items point at the top services and
// users where they are: below the actions, in both parts.
func TestAlertOverLimitSaysHowFar(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	srv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 12, 7, 15, 0, 0, 0, seoul)
	p := report.PeriodContaining(report.Monthly, asOf, seoul)
	b := report.Budget{Name: "monthly-total", Period: report.Monthly, Amount: decimal.NewFromInt(1000)}
	st := report.Evaluate(b, p, decimal.NewFromInt(2024), asOf)
	br := report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: 95, Kind: report.Actual, Severity: report.Critical}
	e, err := email.AlertEmail(report.AlertInput{Status: st, Breach: br, MessageID: br.MessageID("", "example.com"), Currency: "KRW",
		From: "aispend@example.com", To: []string{"a@example.com"}, AsOf: asOf, Location: seoul,
		Drivers: map[report.Dimension][]report.Driver{report.ByService: {{Key: "QA_CHAT", Cost: decimal.NewFromInt(2024), Requests: 7}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitFor(t, 1, 10*time.Second)
	m := srv.Message(t, msgs[0].ID)
	if !strings.Contains(m.Subject, "at 202.4 % of ₩1,000, over by ₩1,024") {
		t.Errorf("subject %q does not say how far over", m.Subject)
	}
	// Both parts as words in order, the HTML's curly quotes as the text's straight ones.
	quotes := strings.NewReplacer("“", `"`, "”", `"`)
	htmlText := quotes.Replace(strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(m.HTML, " "))), " "))
	for part, body := range map[string]string{"text": strings.Join(strings.Fields(m.Text), " "), "html": htmlText} {
		for _, w := range []string{`"monthly-total" is at 202.4 % of its limit, over by ₩1,024`, "Over by"} {
			if !strings.Contains(body, w) {
				t.Errorf("%s part lacks %q:\n%s", part, w, body)
			}
		}
		for _, never := range []string{"has reached 95", "Remaining"} {
			if strings.Contains(body, never) {
				t.Errorf("%s part says %q:\n%s", part, never, body)
			}
		}
		check, tops := strings.Index(body, "Check the top services and users"), strings.Index(body, "Top services")
		if check < 0 || tops < 0 {
			t.Fatalf("%s part lacks the actions or the top services:\n%s", part, body)
		}
		where := body[check+len("Check the top services and users ") : check+len("Check the top services and users ")+5]
		if want := map[bool]string{true: "below", false: "above"}[check < tops]; where != want {
			t.Errorf("%s part says the top services are %q the actions; they are %s them", part, where, want)
		}
	}
}
