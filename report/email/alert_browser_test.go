package email

import (
	"context"
	"github.com/aispend/aispend/report"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
)

// Ensures, in a real browser, that the alert email draws its progress bar from table cells at
// the right proportion, loads nothing from anywhere, runs no script, and shows a hostile user
// id as text.
func TestAlertEmailInBrowser(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		spent string
		th    int
		fill  float64 // expected filled share of the bar
	}{{"40000", 80, 0.80}, {"60000", 95, 1.0}, {"500", 50, 0.01}} {
		e, err := AlertEmail(sampleInput(t, tc.spent, tc.th, report.Actual))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "alert.html")
		if err := os.WriteFile(path, e.HTML, 0o600); err != nil {
			t.Fatal(err)
		}
		page, err := b.NewPage(ctx, 700, 900)
		if err != nil {
			t.Fatal(err)
		}
		if err := page.Navigate(ctx, "file://"+path); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Scripts  int     `json:"scripts"`
			Images   int     `json:"images"`
			Text     string  `json:"text"`
			Fill     float64 `json:"fill"`
			BarCells int     `json:"barCells"`
		}
		// The bar is the table whose cells are 14 px high.
		err = page.Eval(ctx, `(() => {
			const cells = [...document.querySelectorAll('td[height="14"]')];
			const table = cells[0].closest('table');
			const filled = cells.filter(c => getComputedStyle(c).backgroundColor !== 'rgb(229, 231, 235)');
			const w = filled.reduce((s, c) => s + c.getBoundingClientRect().width, 0);
			return {scripts: document.scripts.length, images: document.images.length, text: document.body.innerText,
				fill: w / table.getBoundingClientRect().width, barCells: cells.length};
		})()`, &got)
		if err != nil {
			t.Fatal(err)
		}
		if got.Scripts != 0 || got.Images != 0 {
			t.Errorf("%s: %d scripts, %d images", tc.spent, got.Scripts, got.Images)
		}
		if math.Abs(got.Fill-tc.fill) > 0.02 {
			t.Errorf("%s: bar filled %.3f of its width; want %.2f", tc.spent, got.Fill, tc.fill)
		}
		if !strings.Contains(got.Text, "</script><script>alert(1)</script>") {
			t.Errorf("hostile user id not shown as text")
		}
		for _, r := range page.Requests() {
			if !strings.HasPrefix(r, "file://") {
				t.Errorf("the email loaded %s", r)
			}
		}
		if errs := page.Errors(); len(errs) > 0 {
			t.Errorf("page errors: %v", errs)
		}
	}
}

// Ensures the alert email is fluid: at 390 px (a phone) nothing scrolls sideways or is clipped,
// the key numbers stack and the driver tables fit; at 640 px (a desktop client's pane) the card
// keeps its 600 px and the key numbers sit side by side; in both, no script, image, stylesheet
// or class (Outlook-safe: tables and inline styles).
func TestAlertEmailFluid(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := sampleInput(t, "1234567890", 95, report.Actual) // ₩1,234,567,890: 14 characters
	in.Drivers[report.ByUser] = append(in.Drivers[report.ByUser], report.Driver{Key: "user-with-a-rather-long-identifier-0000042@example.com", Cost: testkit.Dec("1234567"), Requests: 1234567})
	in.WorkbookURL = "https://r.example.com/daily/2025-10-01/aispend-daily-2025-10-01.xlsx"
	in.Also = []int{50, 80}
	e, err := AlertEmail(in)
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
		if len(f.KeyTops) != 3 {
			t.Fatalf("%d px: %d key numbers; want 3", width, len(f.KeyTops))
		}
		stacked := f.KeyTops[0] < f.KeyTops[1] && f.KeyTops[1] < f.KeyTops[2]
		inRow := f.KeyTops[0] == f.KeyTops[1] && f.KeyTops[1] == f.KeyTops[2]
		switch width {
		case 390:
			if !stacked {
				t.Errorf("390 px: key numbers at %v; want stacked", f.KeyTops)
			}
		case 640:
			if !inRow || f.Card != 600 {
				t.Errorf("640 px: key numbers at %v, card %.0f px; want one row in a 600 px card", f.KeyTops, f.Card)
			}
		}
	}
}
