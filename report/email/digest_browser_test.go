package email_test

import (
	"context"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
	"github.com/aispend/aispend/report/email"
)

// Ensures the digest is fluid: at 390 px (a phone) nothing scrolls sideways or is clipped, the
// key numbers stack and the top tables and link buttons fit; at 640 px (a desktop client) the
// card fills the pane and the key numbers sit three to a line as before; in both, no script,
// image, stylesheet or class (Outlook-safe: tables and inline styles).
func TestDigestFluid(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := sample()
	d.KPIs.Cost = testkit.Dec("1234567890") // ₩1,234,567,890: 14 characters
	d.KPIs.Requests = 123456789
	d.EventsURL = "https://reports.example.com/aispend/daily/2025-06-01/aispend-daily-2025-06-01-events.csv.gz"
	d.TopUsers = append(d.TopUsers, email.Top{Name: "user-with-a-rather-long-identifier-0000042@example.com", Cost: testkit.Dec("123456789"), Requests: 1234567})
	e, err := renderDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{390, 640} {
		f, err := browsertest.MeasureEmail(ctx, b.OpenHTML(ctx, t, e.HTML, width))
		if err != nil {
			t.Fatal(err)
		}
		if f.ScrollWidth > width || len(f.Overflowing) > 0 {
			t.Errorf("%d px: document %d px wide; overflowing %q", width, f.ScrollWidth, f.Overflowing)
		}
		if f.Scripts+f.Images+f.Styles+f.Classes != 0 {
			t.Errorf("%d px: %+v: want no scripts, images, stylesheets or classes", width, f)
		}
		// The total cost, then the key numbers.
		if len(f.KeyTops) != 6 {
			t.Fatalf("%d px: %d key numbers; want the total and 5", width, len(f.KeyTops))
		}
		k := f.KeyTops[1:]
		switch width {
		case 390:
			for i := 1; i < len(k); i++ {
				if k[i] <= k[i-1] {
					t.Errorf("390 px: key numbers at %v; want stacked", k)
					break
				}
			}
		case 640:
			if k[0] != k[1] || k[1] != k[2] || k[3] != k[4] || k[3] <= k[0] || f.Card != 616 {
				t.Errorf("640 px: key numbers at %v, card %.0f px; want three to a line in a 616 px card", k, f.Card)
			}
		}
	}
}

// checkOutlookKPIs loads a received digest in Chromium as Outlook for Windows reads it (its MSO
// conditional comments opened) and checks that the five key numbers sit three to a row in the
// fixed cells of the ghost table, fitting the 592 px inside the card; and as every other client
// reads it, that they still stack at 390 px.
func checkOutlookKPIs(t *testing.T, html string) {
	t.Helper()
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(body string, width int) *browsertest.Page { return b.OpenHTML(ctx, t, []byte(body), width) }
	cells, err := browsertest.GhostCells(ctx, open(browsertest.OutlookView(html), 640))
	if err != nil {
		t.Fatal(err)
	}
	var kpis []browsertest.GhostCell
	for _, c := range cells {
		if c.Key == "kpi" {
			kpis = append(kpis, c)
		}
	}
	if len(kpis) != 5 {
		t.Fatalf("Outlook view: %d key numbers %+v; want 5", len(kpis), cells)
	}
	widths := map[int]int{}
	for i, c := range kpis {
		if c.Row != kpis[0].Row+i/3 || c.Col != i%3 || c.Width == 0 {
			t.Errorf("Outlook view: key number %d in %+v; want column %d of row %d of the ghost table", i, c, i%3, kpis[0].Row+i/3)
		}
		widths[c.Row] += c.Width
	}
	for row, w := range widths {
		if w > 592 {
			t.Errorf("Outlook view: ghost row %d is %d px wide; the card holds 592", row, w)
		}
	}
	fit, err := browsertest.MeasureEmail(ctx, open(html, 390))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(fit.KeyTops); i++ { // the total cost, then the key numbers
		if fit.KeyTops[i] <= fit.KeyTops[i-1] {
			t.Errorf("390 px: key numbers at %v; want stacked", fit.KeyTops)
		}
	}
}
