package email_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
)

const (
	pageURL = "https://reports.example.com/aispend/daily/2025-06-01/"
	// A presigned S3 link: long, with &, = and percent-escapes that must survive byte for byte.
	workbookURL = "https://bucket.s3.example.com/aispend/daily/2025-06-01/aispend-daily-2025-06-01.xlsx" +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250602%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20250602T070000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=3f2a9c0d1e2b4a5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
)

// sample is a realistic digest: KRW, Seoul, a budget at warning and one exceeded.
func sample() email.Digest {
	loc, _ := time.LoadLocation("Asia/Seoul")
	return email.Digest{
		Period: email.Period{Kind: "daily", Label: "2025-06-01",
			Start: time.Date(2025, 6, 1, 0, 0, 0, 0, loc), End: time.Date(2025, 6, 2, 0, 0, 0, 0, loc)},
		Currency:    "KRW",
		TimeZone:    "Asia/Seoul",
		GeneratedAt: time.Date(2025, 6, 2, 7, 0, 0, 0, loc),
		KPIs:        email.KPIs{Cost: testkit.Dec("1234567.8"), Requests: 12345, Failures: 12, CacheHits: 4000, Unpriced: 3},
		Previous:    &email.KPIs{Cost: testkit.Dec("1100000"), Requests: 12000},
		Budgets: []email.Budget{
			{Name: "team-search", Period: "monthly 2025-06", Spent: testkit.Dec("800000"), Limit: testkit.Dec("1000000"), Percent: testkit.Dec("80.00"),
				State: email.StateWarning, ResetsAt: time.Date(2025, 7, 1, 0, 0, 0, 0, loc)},
			{Name: "all", Period: "daily 2025-06-01", Spent: testkit.Dec("1500000"), Limit: testkit.Dec("1000000"), Percent: testkit.Dec("150.00"),
				State: email.StateExceeded},
			{Name: "batch", Spent: testkit.Dec("0"), Limit: testkit.Dec("500000"), Percent: testkit.Dec("0"), State: email.StateOK},
		},
		TopServices: []email.Top{{Name: "QA_CHAT", Cost: testkit.Dec("617283.9"), Requests: 6000}, {Name: "search", Cost: testkit.Dec("400000"), Requests: 5000}},
		TopModels:   []email.Top{{Name: "gpt-4o", Cost: testkit.Dec("1000000"), Requests: 10000}},
		TopUsers:    []email.Top{{Name: "u-42", Cost: testkit.Dec("300000"), Requests: 42}, {Name: "", Cost: testkit.Dec("100"), Requests: 1}},
		Alerts:      []email.Alert{{Budget: "team-search", Severity: "WARNING", Threshold: 80, Period: "monthly 2025-06"}},
		PageURL:     pageURL,
		WorkbookURL: workbookURL,
	}
}

func render(t *testing.T, d email.Digest) (subject, htmlBody, text string) {
	t.Helper()
	e, err := renderDigest(d)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return e.Subject, string(e.HTML), string(e.Text)
}

// renderDigest is digest d as Build renders it without a workbook, to a fixed sender and recipient.
func renderDigest(d email.Digest) (*report.Email, error) {
	return email.DigestEmail(d, "aispend@example.com", []string{"ops@example.com"}, nil)
}

var (
	tagRE  = regexp.MustCompile(`<[a-zA-Z/!][^>]*>`)
	hrefRE = regexp.MustCompile(`href="([^"]*)"`)
	// an attribute whose name starts with "on", after whitespace or a quote
	handlerRE = regexp.MustCompile(`[\s"']on[a-z]+\s*=`)
)

// checkSafeHTML fails on any script, image, frame, embedded object or style sheet link, and on
// any tag with a source, an event handler or a javascript: URL. Escaped text has no raw '<', so
// every tag found is the template's own, and hostile names may still show as text.
func checkSafeHTML(t *testing.T, body string) {
	t.Helper()
	lower := strings.ToLower(body)
	for _, bad := range []string{"<script", "<img", "<iframe", "<link", "<object", "<embed", "<svg", "<form", "<input"} {
		if strings.Contains(lower, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	for _, tag := range tagRE.FindAllString(lower, -1) {
		if strings.Contains(tag, "src=") || strings.Contains(tag, "javascript:") || strings.Contains(tag, "url(") || handlerRE.MatchString(tag) {
			t.Errorf("tag with a source, a script URL or an event handler: %s", tag)
		}
	}
}

func hrefs(body string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// Ensures the HTML has no scripts, no images, no src= at all, and links exactly the given URLs.
func TestRenderHTMLSafeAndLinked(t *testing.T) {
	_, body, _ := render(t, sample())
	checkSafeHTML(t, body)
	if strings.Contains(strings.ToLower(body), "src=") {
		t.Error("HTML contains src=")
	}
	got := hrefs(body)
	if len(got) != 2 || got[0] != pageURL || got[1] != workbookURL {
		t.Fatalf("links after HTML-unescaping:\n got %q\nwant %q", got, []string{pageURL, workbookURL})
	}
	// The attribute is escaped correctly: no bare & (it must be &amp;) inside the href.
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		if strings.Contains(strings.ReplaceAll(m[1], "&amp;", ""), "&") {
			t.Errorf("href with an unescaped &: %s", m[1])
		}
	}
	if !strings.Contains(body, `role="presentation"`) || !strings.Contains(body, "max-width:640px") {
		t.Error("want presentation tables with a max width")
	}
	for _, s := range []string{"₩1,234,568", "12,345", "99.9 %", "32.4 %", "₩100.03", "+12.2 %",
		"team-search", "WARNING", "EXCEEDED", "QA_CHAT", "gpt-4o", "u-42", "(none)", "Asia/Seoul",
		"2025-06-01 00:00 – 2025-06-02 00:00", "resets Tue 1 Jul 2025 00:00", "leaves out 3 unpriced events"} {
		if !strings.Contains(html.UnescapeString(body), s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	// Key numbers come first: the total cost before the budgets and the tops.
	if i, j := strings.Index(body, "₩1,234,568"), strings.Index(body, "Budgets"); i < 0 || j < 0 || i > j {
		t.Error("the total cost is not before the budgets")
	}
}

// Ensures every piece of text from events or configuration shows as text, in every place.
func TestRenderEscapesUntrustedText(t *testing.T) {
	d := sample()
	evil := []string{
		"<b>x</b>",
		"</table>",
		"<script>alert(1)</script>",
		"<img src=https://evil.example/pixel.png onerror=alert(1)>",
		`"><a href="javascript:alert(1)">click</a>`,
		"{{.PageURL}}",
	}
	d.TopServices = []email.Top{{Name: evil[0], Cost: testkit.Dec("1")}, {Name: evil[1], Cost: testkit.Dec("1")}}
	d.TopModels = []email.Top{{Name: evil[2], Cost: testkit.Dec("1")}}
	d.TopUsers = []email.Top{{Name: evil[3], Cost: testkit.Dec("1")}, {Name: evil[5], Cost: testkit.Dec("1")}}
	d.Budgets[0].Name = evil[4]
	d.Budgets[1].Period = evil[1]
	d.Alerts[0].Budget = evil[2]
	_, body, text := render(t, d)
	_, plain, _ := render(t, sample())

	checkSafeHTML(t, body)
	if got, want := strings.Count(body, "</table>"), strings.Count(plain, "</table>"); got != want {
		t.Errorf("%d </table> tags, want %d as without the hostile names", got, want)
	}
	if got := hrefs(body); len(got) != 2 || got[0] != pageURL || got[1] != workbookURL {
		t.Errorf("links: %q", got)
	}
	for _, s := range evil {
		if !strings.Contains(html.UnescapeString(body), s) {
			t.Errorf("HTML does not show %q as text", s)
		}
		if !strings.Contains(text, s) {
			t.Errorf("plain text lacks %q", s)
		}
	}
	for _, s := range []string{"&lt;b&gt;x&lt;/b&gt;", "&lt;/table&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(body, s) {
			t.Errorf("HTML lacks the escaped %s", s)
		}
	}
}

// Ensures the plain-text part carries the key numbers, the budgets and both links whole.
func TestRenderPlainText(t *testing.T) {
	subject, _, text := render(t, sample())
	for _, s := range []string{
		"Total cost:          ₩1,234,568",
		"+12.2 % vs the previous period (₩1,100,000)",
		"Requests:            12,345 (+2.8 %)",
		"Success rate:        99.9 %",
		"Cache-hit rate:      32.4 %",
		"Avg cost / request:  ₩100.03",
		"Unpriced events:     3",
		"Full report: " + pageURL + "\n",
		"Workbook:    " + workbookURL + "\n",
		"team-search (monthly 2025-06): WARNING, ₩800,000 of ₩1,000,000 (80.0 %), resets Tue 1 Jul 2025 00:00",
		"all (daily 2025-06-01): EXCEEDED, ₩1,500,000 of ₩1,000,000 (150.0 %)",
		"WARNING: Budget “team-search” reached 80 % (monthly 2025-06)",
		"QA_CHAT: ₩617,284 (50.0 %, 6,000 req.)",
		"(none): ₩100 (0.0 %, 1 req.)",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("plain text lacks %q\n%s", s, text)
		}
	}
	if want := "aispend · Daily digest 2025-06-01: ₩1,234,568 · 1 budget exceeded, 1 at warning"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
}

// Ensures budget bars are table cells with the state's colour, filled to the percent, clamped.
func TestRenderBudgetBars(t *testing.T) {
	_, body, _ := render(t, sample())
	for _, want := range []string{
		// warning, 80 %: 80 filled + 20 empty
		`<td width="80%" height="14" style="height:14px;background-color:#b45309;font-size:0;line-height:0;">&nbsp;</td><td width="20%" height="14" style="height:14px;background-color:#e5e7eb;`,
		// exceeded, 150 %: one full cell, no empty part
		`<tr><td width="100%" height="14" style="height:14px;background-color:#7f1d1d;font-size:0;line-height:0;">&nbsp;</td>` + "\n</tr>",
		// ok, 0 %: only the empty part
		`<tr><td width="100%" height="14" style="height:14px;background-color:#e5e7eb;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks the bar %s", want)
		}
	}
}

// Ensures only the top five rows show and shares are of the period's total.
func TestRenderTopFive(t *testing.T) {
	d := sample()
	d.KPIs.Cost = testkit.Dec("1000")
	d.TopModels = nil
	for i := range 7 {
		d.TopModels = append(d.TopModels, email.Top{Name: "model-" + string(rune('a'+i)), Cost: testkit.Dec("100"), Requests: 1})
	}
	_, body, text := render(t, d)
	for i := range 7 {
		name := "model-" + string(rune('a'+i))
		if got, want := strings.Contains(body, name), i < email.TopN; got != want {
			t.Errorf("%s shown in HTML: %v, want %v", name, got, want)
		}
		if got, want := strings.Contains(text, name), i < email.TopN; got != want {
			t.Errorf("%s shown in text: %v, want %v", name, got, want)
		}
	}
	if !strings.Contains(text, "model-a: ₩100 (10.0 %, 1 req.)") {
		t.Errorf("share of the total missing:\n%s", text)
	}
	d.KPIs = email.KPIs{}
	d.Previous = nil
	_, _, text = render(t, d)
	if !strings.Contains(text, "model-a: ₩100 (–, 1 req.)") {
		t.Errorf("a share of a zero total must be –:\n%s", text)
	}
}

// Ensures optional parts disappear when absent: no links, no previous period, no budgets.
func TestRenderMinimal(t *testing.T) {
	d := email.Digest{Period: email.Period{Kind: "monthly", Label: "2025-06"}, Currency: "usd", TimeZone: "UTC"}
	subject, body, text := render(t, d)
	checkSafeHTML(t, body)
	if got := hrefs(body); len(got) != 0 {
		t.Errorf("links without URLs: %q", got)
	}
	for _, s := range []string{"previous period", "Budgets", "Alerts", "Full report", "Workbook:", "attached", "Made "} {
		if strings.Contains(text, s) || strings.Contains(body, s) {
			t.Errorf("minimal digest shows %q", s)
		}
	}
	if want := "aispend · Monthly digest 2025-06: $0.00"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	// Zero requests: said as such, without rates of nothing (TestDigestOfAnEmptyPeriodSaysNoRequests).
	if !strings.Contains(text, "No requests in this period.") || strings.Contains(text, "Success rate") {
		t.Errorf("zero requests:\n%s", text)
	}
}

func TestKPIs(t *testing.T) {
	k := email.KPIs{Cost: testkit.Dec("10"), Requests: 8, Failures: 1, CacheHits: 3, Unpriced: 4}
	for _, c := range []struct {
		name      string
		got, want decimal.Decimal
	}{
		{"success rate", k.SuccessRate(), testkit.Dec("87.5")},
		{"cache-hit rate", k.CacheHitRate(), testkit.Dec("37.5")},
		{"avg cost over priced requests only", k.AvgCost(), testkit.Dec("2.5")},
		{"avg cost, all unpriced", email.KPIs{Requests: 2, Unpriced: 2}.AvgCost(), testkit.Dec("0")},
		{"rates without requests", email.KPIs{}.SuccessRate(), testkit.Dec("0")},
		{"rate truncated to 2 decimals", email.KPIs{Requests: 3, Failures: 1}.SuccessRate(), testkit.Dec("66.66")},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestRenderChange(t *testing.T) {
	for _, c := range []struct {
		name      string
		cur, prev string
		want      string
	}{
		{"up", "112", "100", "+12.0 % vs the previous period ($100.00)"},
		{"down", "95.5", "100", "−4.5 % vs the previous period ($100.00)"},
		{"same", "100", "100", "no change vs the previous period ($100.00)"},
		{"from nothing", "5", "0", "new vs the previous period ($0.00)"},
		{"nothing twice", "0", "0", "no change vs the previous period ($0.00)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := email.Digest{Period: email.Period{Kind: "weekly", Label: "2025-W23"}, Currency: "USD", TimeZone: "UTC",
				KPIs: email.KPIs{Cost: testkit.Dec(c.cur)}, Previous: &email.KPIs{Cost: testkit.Dec(c.prev)}}
			_, _, text := render(t, d)
			if !strings.Contains(text, c.want) {
				t.Errorf("want %q in\n%s", c.want, text)
			}
		})
	}
}

// Ensures bad input is a clear error, never a panic or a broken email.
func TestRenderRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*email.Digest)
		want   string
	}{
		{"period kind", func(d *email.Digest) { d.Period.Kind = "hourly" }, `period kind "hourly"`},
		{"empty kind", func(d *email.Digest) { d.Period.Kind = "" }, `period kind ""`},
		{"empty label", func(d *email.Digest) { d.Period.Label = " " }, "period label is empty"},
		{"currency", func(d *email.Digest) { d.Currency = "WON!" }, `currency "WON!"`},
		{"time zone", func(d *email.Digest) { d.TimeZone = "Mars/Olympus" }, `time zone "Mars/Olympus"`},
		{"no time zone", func(d *email.Digest) { d.TimeZone = "" }, "time zone is empty"},
		{"relative page url", func(d *email.Digest) { d.PageURL = "/daily/2025-06-01/" }, "page url"},
		{"javascript url", func(d *email.Digest) { d.PageURL = "javascript:alert(1)" }, "page url"},
		{"url with a quote", func(d *email.Digest) { d.WorkbookURL = `https://x.example/"onmouseover=1` }, "workbook url"},
		{"url with a space", func(d *email.Digest) { d.WorkbookURL = "https://x.example/a b" }, "workbook url"},
		{"relative events url", func(d *email.Digest) { d.EventsURL = "daily/x-events.csv.gz" }, "events url"},
		{"budget state", func(d *email.Digest) { d.Budgets[0].State = "red" }, `state "red"`},
		{"alert severity", func(d *email.Digest) { d.Alerts[0].Severity = "LOUD" }, `severity "LOUD"`},
		{"failures over requests", func(d *email.Digest) { d.KPIs.Failures = d.KPIs.Requests + 1 }, "cannot exceed requests"},
		{"negative count", func(d *email.Digest) { d.Previous.Requests = -1 }, "previous kpis: counts must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := sample()
			c.change(&d)
			_, err := renderDigest(d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
	// Several problems are reported at once.
	d := sample()
	d.Period.Kind, d.TimeZone = "x", "y/z"
	if _, err := renderDigest(d); err == nil || !strings.Contains(err.Error(), "period kind") || !strings.Contains(err.Error(), "time zone") {
		t.Errorf("err = %v, want both problems", err)
	}
}
