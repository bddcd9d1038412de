package email

import (
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func loc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sampleInput(t *testing.T, spent string, th int, kind report.Kind) report.AlertInput {
	t.Helper()
	seoul := loc(t, "Asia/Seoul")
	now := time.Date(2025, 10, 1, 18, 0, 0, 0, seoul)
	p := report.PeriodContaining(report.Daily, now, seoul)
	b := report.Budget{Name: `qa <b>"budget"</b>`, Period: report.Daily, Amount: testkit.Dec("50000"), Scope: report.Scope{Service: "QA_CHAT"}}
	st := report.Evaluate(b, p, testkit.Dec(spent), now)
	br := report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: th, Kind: kind, Severity: report.SeverityOf(th)}
	if kind == report.Forecast {
		br.Severity = report.Warning
	}
	return report.AlertInput{
		Status: st, Breach: br, MessageID: br.MessageID("", "example.com"), Currency: "KRW",
		From: "aispend@example.com", To: []string{"a@example.com"}, AsOf: now, Location: seoul,
		ReportURL: "https://r.example.com/daily/2025-10-01/?a=1&b=<2>",
		Drivers: map[report.Dimension][]report.Driver{
			report.ByUser:    {{Key: "</script><script>alert(1)</script>", Cost: testkit.Dec("30000"), Requests: 12345}},
			report.ByService: {{Key: "QA_CHAT", Cost: decimal.RequireFromString(spent), Requests: 2}},
		},
	}
}

// Ensures every value from events or configuration is escaped in the HTML part, that the bar is
// made of table cells without images or scripts, and that the plain-text part carries the same
// facts.
func TestAlertEmailEscapesAndRenders(t *testing.T) {
	in := sampleInput(t, "40000", 80, report.Actual)
	e, err := AlertEmail(in)
	if err != nil {
		t.Fatal(err)
	}
	html, text := string(e.HTML), string(e.Text)
	for _, bad := range []string{"<script>", "</script><script>", "<b>\"budget\"</b>", "<img", "b=<2>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
		`<td width="80%"`, `<td width="20%"`, // the progress bar: two table cells
		"₩40,000", "₩50,000", "₩10,000", "80.0 %", "12,345", "resets Thu 2 Oct 2025 00:00 KST",
		"https://r.example.com/daily/2025-10-01/?a=1&amp;b=%3c2%3e", "service=QA_CHAT",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, want := range []string{"₩40,000", "80.0 %", "</script><script>alert(1)</script>", "Resets:", "Top users", "Full report: https://r.example.com/daily/2025-10-01/"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(html, "What to do now") {
		t.Error("WARNING alert has action items")
	}
	if e.Headers.Get("Message-ID") != in.MessageID || !strings.HasPrefix(e.Subject, "[aispend WARNING] qa") || strings.ContainsAny(e.Subject, "\r\n") {
		t.Errorf("headers: %q %q", e.Headers.Get("Message-ID"), e.Subject)
	}
	wantAutomated(t, e.Headers)
	if !strings.Contains(html, "style=") || strings.Contains(html, "<style") || strings.Contains(html, "class=") {
		t.Error("styles must be inline")
	}
}

func TestAlertEmailCriticalAndForecast(t *testing.T) {
	e, err := AlertEmail(sampleInput(t, "60000", 95, report.Actual))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.HTML), "What to do now") || !strings.Contains(string(e.Text), "What to do now") {
		t.Error("CRITICAL alert without action items")
	}
	if !strings.Contains(string(e.HTML), `<td width="100%"`) || strings.Contains(string(e.HTML), `<td width="0%"`) {
		t.Error("an overrun bar is one full cell")
	}
	f, err := AlertEmail(sampleInput(t, "30000", report.ForecastThreshold, report.Forecast))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Subject, "Forecast") || !strings.Contains(string(f.HTML), "This is an estimate") || !strings.Contains(string(f.Text), "ESTIMATE") {
		t.Errorf("forecast alert does not say it is an estimate: %s", f.Subject)
	}
	// 30,000 after 18 of 24 hours → 40,000 projected.
	if !strings.Contains(string(f.Text), "Projected: ₩40,000") {
		t.Errorf("projection missing:\n%s", f.Text)
	}
	in := sampleInput(t, "1", 50, report.Actual)
	in.To = nil
	if _, err := AlertEmail(in); err != report.ErrNoRecipients {
		t.Errorf("no recipients: %v", err)
	}
}

// Ensures one number format in the alert: every count with thousands separators, every percent
// with one decimal and a space ("80.0 %"), truncated so that 79.99 % never reads 80.0 %.
func TestAlertEmailNumberFormat(t *testing.T) {
	in := sampleInput(t, "39999.5", 50, report.Actual)
	in.Status.Unpriced = 12345
	e, err := AlertEmail(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{string(e.Text), string(e.HTML)} {
		for _, want := range []string{"79.9 %", "12,345 req"} { // the unpriced count: TestAlertUnpricedCountAgrees
			if !strings.Contains(part, want) {
				t.Errorf("lacks %q:\n%s", want, part)
			}
		}
		if strings.Contains(part, "80.0 %") || strings.Contains(part, "79.99") {
			t.Errorf("79.999 %% shown rounded or with two decimals:\n%s", part)
		}
	}
	if !strings.Contains(e.Subject, "at 79.9 % of ₩50,000") {
		t.Errorf("subject %q", e.Subject)
	}
}

// Ensures a driver whose every request lacks a price reads "unpriced" in the alert email, never
// a cost of zero, while a partly priced one shows its priced cost.
func TestAlertEmailUnpricedDriver(t *testing.T) {
	in := sampleInput(t, "40000", 80, report.Actual)
	in.Drivers[report.ByModel] = []report.Driver{
		{Key: "priced-model", Cost: testkit.Dec("40000"), Requests: 10, Unpriced: 2},
		{Key: "no-price-model", Cost: testkit.Dec("0"), Requests: 7, Unpriced: 7},
	}
	e, err := AlertEmail(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, part := range map[string]string{"HTML": string(e.HTML), "text": string(e.Text)} {
		i := strings.Index(part, "no-price-model")
		if i < 0 {
			t.Fatalf("%s lacks the unpriced model:\n%s", name, part)
		}
		row := part[i:min(len(part), i+400)]
		if j := strings.Index(row, "priced-model"); j > 0 {
			row = row[:j]
		}
		if !strings.Contains(row, "unpriced") || strings.Contains(row, "₩0") {
			t.Errorf("%s: the unpriced model's row does not say unpriced:\n%s", name, row)
		}
	}
}

// Ensures the alert's unpriced line agrees with its count: "1 unpriced event", not "1 events".
func TestAlertUnpricedCountAgrees(t *testing.T) {
	for n, want := range map[int64][2]string{
		1:     {"Unpriced:  1 event, left out of the spend", "The spend leaves out 1 unpriced event."},
		12345: {"Unpriced:  12,345 events, left out of the spend", "The spend leaves out 12,345 unpriced events."},
	} {
		in := sampleInput(t, "30000", 50, report.Actual)
		in.Status.Unpriced = n
		e, err := AlertEmail(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(e.Text), want[0]) {
			t.Errorf("%d unpriced: text lacks %q:\n%s", n, want[0], e.Text)
		}
		if !strings.Contains(string(e.HTML), want[1]) {
			t.Errorf("%d unpriced: HTML lacks %q:\n%s", n, want[1], e.HTML)
		}
	}
}

// wantAutomated checks that an email is marked as automatic mail, so that no out-of-office or
// other auto-reply comes back (RFC 3834, and Exchange's own header).
func wantAutomated(t *testing.T, h textproto.MIMEHeader) {
	t.Helper()
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("X-Auto-Response-Suppress") != "All" {
		t.Errorf("not marked automatic: Auto-Submitted %q, X-Auto-Response-Suppress %q", h.Get("Auto-Submitted"), h.Get("X-Auto-Response-Suppress"))
	}
}
