package email_test

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
)

// Ensures the entity alert email names every entity with its threshold and spend in both parts,
// its subject on one line, and escapes a hostile entity id and budget name in the HTML part.
func TestEntityAlertEmailEscapesAndLists(t *testing.T) {
	b := report.Budget{Name: "per-user <b>", Period: report.Daily, Amount: decimal.NewFromInt(100), Per: report.Per{Field: report.PerUserID}}
	p := report.PeriodContaining(report.Daily, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.UTC)
	evil := "<img src=x onerror=alert(1)>\r\nBcc: x@example.com"
	in := report.EntityAlertInput{Budget: b, Period: p, MessageID: "<m@example.com>", Currency: "USD", From: "aispend@example.com",
		To: []string{"ops@example.com"}, Location: time.UTC, Alerts: []report.EntityAlert{
			{Entity: evil, Threshold: 95, Kind: report.Actual, Severity: report.SeverityOf(95), Spent: decimal.NewFromInt(97), Amount: decimal.NewFromInt(100)},
			{Entity: "u-2", Threshold: 50, Kind: report.Actual, Severity: report.SeverityOf(50), Spent: decimal.NewFromInt(51), Amount: decimal.NewFromInt(100)},
		}}
	e, err := email.EntityAlertEmail(in)
	if err != nil {
		t.Fatal(err)
	}
	if e.Headers.Get("Auto-Submitted") != "auto-generated" || e.Headers.Get("X-Auto-Response-Suppress") != "All" {
		t.Errorf("not marked automatic: %v", e.Headers)
	}
	if strings.ContainsAny(e.Subject, "\r\n") || !strings.Contains(e.Subject, "2 entities") {
		t.Errorf("subject %q", e.Subject)
	}
	body := string(e.HTML)
	checkSafeHTML(t, body)
	for _, want := range []string{evil, "per-user <b>", "$97.00", "$100.00", "u-2", "$51.00"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("HTML lacks %q", want)
		}
		if !strings.Contains(string(e.Text), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.Contains(body, "<img") || strings.Contains(body, "per-user <b>") {
		t.Error("HTML has untrusted text unescaped")
	}
}
