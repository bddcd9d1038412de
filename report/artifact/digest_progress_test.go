package artifact_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// Ensures the digest of a month in progress (November, run on 10 November at 12:00; 5 November
// has no events, so the month to date is ₩27 against ₩30 for 1–10 October), as Mailpit receives
// it, says "month to date" in its subject and headline and compares like with like ("vs 1–10
// Oct (same 10 days)"), and, in the text and the HTML part alike, puts the budget bars right
// after the headline, the exceeded one first, before the key numbers, the shorter budgets'
// summary, the biggest movers, the unpriced models, the cache savings and the links.
func TestDigestOfMonthInProgressHeadlineAndBudgetsFirst(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 11, 10, 12, 0, 0, 0, seoul))
	if _, err := f.env.pool.Exec(context.Background(), `DELETE FROM events WHERE occurred_at >= $1 AND occurred_at < $2`,
		time.Date(2026, 11, 5, 0, 0, 0, 0, seoul), time.Date(2026, 11, 6, 0, 0, 0, 0, seoul)); err != nil {
		t.Fatal(err)
	}
	// Configured after monthly-total, exceeded (₩27 of ₩20): its bar must come first.
	f.job.Budgets = append(f.job.Budgets, report.Budget{Name: "monthly-small", Period: report.Monthly, Amount: testkit.Dec("20")})
	nov := report.PeriodContaining(report.Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	_, _, msg := f.run(t, nov)
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}
	if want := "aispend · Monthly digest 2026-11: ₩27 (month to date, 10 of 30 days) · 1 budget exceeded"; msg.Subject != want {
		t.Errorf("subject %q, want %q", msg.Subject, want)
	}
	const change = "−10.0 % vs 1–10 Oct (same 10 days) (₩30)"
	text := strings.ReplaceAll(msg.Text, "\r\n", "\n")
	if want := "Total cost:          ₩27 month to date, 10 of 30 days\n                     " + change + "\n"; !strings.Contains(text, want) {
		t.Errorf("text headline lacks %q:\n%s", want, text)
	}
	// The HTML as a reader sees it: tags dropped, one line per block.
	page := html.UnescapeString(regexp.MustCompile(`(?s)<head>.*?</head>|<!--.*?-->|<[^>]*>`).ReplaceAllString(msg.HTML, "\n"))
	page = regexp.MustCompile(`\s*\n\s*`).ReplaceAllString(page, "\n")
	if want := "Total cost\n₩27\nmonth to date, 10 of 30 days\n" + change + "\n"; !strings.Contains(page, want) {
		t.Errorf("HTML headline lacks %q:\n%s", want, page)
	}
	for part, body := range map[string]string{"text": text, "html": page} {
		order := []string{
			"month to date, 10 of 30 days", "\nBudgets\n", "monthly-small", "monthly-total",
			"Requests", "Budgets of shorter periods", "Biggest movers", "Unpriced models", "Prompt cache", "Full report",
		}
		if part == "html" {
			order[len(order)-1] = "Open the full report"
		}
		at := -1
		for _, s := range order {
			i := strings.Index(body, s)
			if i < 0 {
				t.Errorf("%s part lacks %q", part, s)
				continue
			}
			if i < at {
				t.Errorf("%s part: %q comes before what precedes it in %q", part, s, order)
			}
			at = i
		}
	}
}
