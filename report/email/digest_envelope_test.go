package email_test

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
)

// envelopeOf is an envelope budget of 12 users in June 2025 with an envelope of ₩10,000 each:
// user i spent (12 − i) × ₩1,000, so u-00 and u-01 are over, u-02 at its envelope, and the
// report's order (nearest to or over first) is the users' order. The first user's id is hostile.
func envelopeOf(t *testing.T) email.Envelope {
	t.Helper()
	b := report.Budget{Name: "per-user", Period: report.Monthly, Amount: decimal.NewFromInt(10000), Per: report.Per{Field: report.PerUserID}}
	p := report.PeriodContaining(report.Monthly, time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC), time.UTC)
	var sts []report.EntityStatus
	for i := range 12 {
		id := fmt.Sprintf("u-%02d", i)
		if i == 0 {
			id = "<script>alert(1)</script>"
		}
		sts = append(sts, report.EvaluateEntity(b, id, p, decimal.NewFromInt(int64(12-i)*1000), p.Start.Add(240*time.Hour)))
	}
	return email.Envelope{Budget: b.Name, Per: b.Per.String(), Noun: b.Per.Noun(), Period: p.String(), EntitySummary: report.SummarizeEntities(sts)}
}

// Ensures the digest lists an envelope budget's entities nearest to or over their envelope as
// report.EvaluateEntity states them (spent of the envelope, percent, over by or left), with the
// count of users and of those at or over, at most report.NearestEntities of them, in both parts,
// the entity ids escaped in HTML.
func TestDigestListsEnvelopeEntities(t *testing.T) {
	d := sample()
	d.Envelopes = []email.Envelope{envelopeOf(t)}
	_, body, text := render(t, d)
	checkSafeHTML(t, body)
	shown := html.UnescapeString(body)
	for _, part := range []struct{ name, s string }{{"HTML", shown}, {"text", text}} {
		for _, want := range []string{
			"per-user", "per user_id, monthly 2025-06",
			"12 users spent · 3 at or over their envelope · the 10 nearest shown",
			"<script>alert(1)</script>", "₩12,000 of ₩10,000", "over by ₩2,000", "120.0 %",
			"u-02", "₩10,000 of ₩10,000", "u-09", "₩3,000 of ₩10,000", "₩7,000 left", "30.0 %",
		} {
			if !strings.Contains(part.s, want) {
				t.Errorf("%s lacks %q", part.name, want)
			}
		}
		for _, not := range []string{"u-10", "u-11"} {
			if strings.Contains(part.s, not) {
				t.Errorf("%s lists %s, past the %d nearest", part.name, not, report.NearestEntities)
			}
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("HTML has the entity id unescaped")
	}
	if i, j := strings.Index(text, "<script>"), strings.Index(text, "u-09"); i > j {
		t.Errorf("entities not nearest first (first at %d, u-09 at %d)", i, j)
	}
}
