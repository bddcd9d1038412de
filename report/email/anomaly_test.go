package email

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures the anomaly email states the anomaly's one explanation in its subject, text and HTML,
// lists the drivers, escapes names in the HTML and refuses to go without recipients.
func TestAnomalyEmail(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	start := time.Date(2026, 12, 15, 14, 0, 0, 0, seoul)
	a := report.Anomaly{Scope: "service", Value: "<b>QA</b>", Window: report.Window{Kind: report.WindowHour, Start: start, End: start.Add(time.Hour)},
		Actual: decimal.NewFromInt(591), Usual: decimal.NewFromInt(179), Baseline: report.BaselineWeekday, Samples: 4,
		Drivers: []report.AnomalyDriver{{UserID: "u-17", Model: "claude-opus-4-1", Service: "<b>QA</b>", Excess: decimal.RequireFromString("321.36"), Share: decimal.NewFromInt(78)}}}
	in := report.AnomalyInput{Anomaly: a, MessageID: "<anomaly.1@example.com>", Currency: "KRW", From: "aispend@example.com",
		To: []string{"oncall@example.com"}, Location: seoul, ReportURL: "https://reports.example.com/daily/2026-12-15/"}
	e, err := AnomalyEmail(in)
	if err != nil {
		t.Fatal(err)
	}
	explain := "+₩412 (+230.1 %) against the usual ₩179 for Tuesdays 14:00; 78.0 % of it from user u-17 on claude-opus-4-1 in <b>QA</b>"
	if want := "[aispend WARNING] Anomaly: service <b>QA</b> spent ₩591 on Tue 15 Dec 2026 14:00–15:00: " + explain; e.Subject != want {
		t.Errorf("subject %q\nwant    %q", e.Subject, want)
	}
	if !strings.Contains(string(e.Text), explain) || !strings.Contains(string(e.Text), "u-17 on claude-opus-4-1") ||
		!strings.Contains(string(e.Text), "https://reports.example.com/daily/2026-12-15/") {
		t.Errorf("text:\n%s", e.Text)
	}
	html := string(e.HTML)
	if strings.Contains(html, "<b>QA</b>") || !strings.Contains(html, "&lt;b&gt;QA&lt;/b&gt;") || !strings.Contains(html, "₩321") {
		t.Errorf("html does not escape names or lacks the driver:\n%s", html)
	}
	if e.Headers.Get("Message-Id") != in.MessageID || e.Headers.Get("X-Aispend-Alert") != "anomaly "+a.Key() {
		t.Errorf("headers %v", e.Headers)
	}
	wantAutomated(t, e.Headers)
	in.To = nil
	if _, err := AnomalyEmail(in); err != report.ErrNoRecipients {
		t.Errorf("without recipients: %v", err)
	}
}
