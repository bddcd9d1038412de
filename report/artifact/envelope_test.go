package artifact_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// Ensures an envelope budget's entities reach the period page and the digest (as Mailpit received
// it) with the figures report.EvaluateEntity gave them: the daily report of 28 November, with a
// monthly envelope of ₩1,000 per user, as of the report's instant (29 Nov 00:00): u-QA_CHAT spent
// ₩2 a day (₩56), u-SUMMARY ₩1 a day (₩28; its other events are unpriced), and the ₩40 of 29
// November is not counted.
func TestEnvelopeEntitiesOnPageAndDigest(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 12, 3, 9, 0, 0, 0, seoul))
	f.job.Budgets = append(f.job.Budgets, report.Budget{Name: "per-user", Period: report.Monthly, Amount: testkit.Dec("1000"),
		Per: report.Per{Field: report.PerUserID}})
	page, _, msg := f.run(t, day28Nov())
	if msg.ID == "" {
		t.Fatal("no digest sent")
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		`<section class="panel envelopes">`, "per-user", "per user_id · 2 users spent · 0 at or over their envelope",
		`<td class="id">u-QA_CHAT</td><td class="num" data-label="Spent">₩56</td><td class="num" data-label="Envelope">₩1,000</td><td class="num" data-label="Used">5.6 %</td><td class="num" data-label="Left">₩944 left</td>`,
		`<td class="id">u-SUMMARY</td><td class="num" data-label="Spent">₩28</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if i, j := strings.Index(html, "u-QA_CHAT</td>"), strings.Index(html, "u-SUMMARY</td>"); i < 0 || j < i {
		t.Errorf("page: entities not nearest first (u-QA_CHAT at %d, u-SUMMARY at %d)", i, j)
	}
	for _, want := range []string{"per-user (per user_id, monthly 2026-11): 2 users spent · 0 at or over their envelope",
		"u-QA_CHAT: OK, ₩56 of ₩1,000 (5.6 %), ₩944 left", "u-SUMMARY: OK, ₩28 of ₩1,000 (2.8 %), ₩972 left"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("digest text lacks %q:\n%s", want, msg.Text)
		}
	}
	if !strings.Contains(msg.HTML, "u-QA_CHAT") || !strings.Contains(msg.HTML, "2 users spent") {
		t.Errorf("digest HTML lacks the envelope:\n%s", msg.HTML)
	}
}
