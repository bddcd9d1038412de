package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/browsertest"
	"github.com/aispend/aispend/report"
)

// Ensures the alert email that Mailpit receives keeps its MSO conditional comments, so that
// Outlook for Windows (which ignores max-width and inline-block) gets the key numbers side by
// side in a ghost table: opened as Outlook opens them, the three numbers sit in three fixed
// cells of one row that fit the card; read as every other client reads them (comments), the
// numbers still stack at 390 px.
func TestAlertEmailOutlookGhostTable(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "990"})
	if _, err := f.job(daily("daily-total", "1000")).Run(context.Background(), report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	msgs := f.smtp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("Mailpit received %d messages; want 1", len(msgs))
	}
	html := f.smtp.Message(t, msgs[0].ID).HTML
	if n := strings.Count(html, "<!--[if mso]>"); n == 0 || n != strings.Count(html, "<![endif]-->") {
		t.Fatalf("received HTML has %d MSO conditional comments opened, %d closed; want the ghost table", n, strings.Count(html, "<![endif]-->"))
	}
	if !strings.Contains(html, `<!--[if mso]><table role="presentation" width="552"`) {
		t.Errorf("received HTML has no ghost table:\n%s", html)
	}
	checkGhostTable(t, html, "spent", "limit", "remaining")
}

// checkGhostTable loads html in Chromium as Outlook reads it (conditional comments opened) and
// checks that the key numbers are in fixed cells of one ghost-table row, in order and fitting
// the 552 px inside the card; and as other clients read it, that they stack at 390 px.
func checkGhostTable(t *testing.T, html string, keys ...string) {
	t.Helper()
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(body string, width int) *browsertest.Page { return b.OpenHTML(ctx, t, []byte(body), width) }
	cells, err := browsertest.GhostCells(ctx, open(browsertest.OutlookView(html), 640))
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != len(keys) {
		t.Fatalf("Outlook view: %d key numbers %+v; want %d", len(cells), cells, len(keys))
	}
	width := 0
	for i, c := range cells {
		if c.Key != keys[i] || c.Row != cells[0].Row || c.Col != i || c.Width == 0 {
			t.Errorf("Outlook view: key number %d in %+v; want %s in column %d of row %d of the ghost table", i, c, keys[i], i, cells[0].Row)
		}
		width += c.Width
	}
	if width > 552 {
		t.Errorf("Outlook view: ghost cells %d px wide; the card holds 552", width)
	}
	fit, err := browsertest.MeasureEmail(ctx, open(html, 390))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(fit.KeyTops); i++ {
		if fit.KeyTops[i] <= fit.KeyTops[i-1] {
			t.Errorf("390 px: key numbers at %v; want stacked", fit.KeyTops)
		}
	}
}
