package site

import (
	"context"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
)

// fit is what TestBrowserPageFits measures on a page.
type fit struct {
	ScrollWidth int      `json:"scrollWidth"`
	Viewport    int      `json:"viewport"`
	Clipped     []string `json:"clipped"`    // figures wider than their box or past their card
	Unscrolled  []string `json:"unscrolled"` // tables wider than their card, which does not scroll
	Broken      []string `json:"broken"`     // ids that wrap onto several lines
}

const fitJS = `(() => {
  const out = {scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, clipped: [], unscrolled: [], broken: []};
  for (const el of document.querySelectorAll('.kpi-value, .budget .spent strong, .budget h3, .latest-label')) {
    const card = el.closest('.kpi, .budget, .latest-card') || el.parentElement;
    const r = el.getBoundingClientRect(), c = card.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || r.right > c.right + 0.5 || r.left < c.left - 0.5) out.clipped.push(el.textContent.trim());
  }
  for (const tb of document.querySelectorAll('table')) {
    const panel = tb.closest('.panel');
    const ov = getComputedStyle(panel).overflowX;
    const p = panel.getBoundingClientRect();
    if (tb.getBoundingClientRect().right > p.right + 0.5 && ov !== 'auto' && ov !== 'scroll') out.unscrolled.push(panel.querySelector('h2') ? panel.querySelector('h2').textContent.trim() : 'table');
  }
  for (const td of document.querySelectorAll('td.id')) {
    const range = document.createRange(); range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) out.broken.push(td.textContent.trim());
  }
  return out;
})()`

// Ensures no figure is ever clipped: a 13-digit amount (₩1,234,567,890) fits its KPI and budget
// card at 1400 px and at 390 px; a table wider than its card scrolls inside the card instead of
// widening the page; and ids stay on one line (no mid-word breaks).
func TestBrowserPageFits(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page := samplePeriod(t)
	page.Currency = "KRW"
	page.KPIs.TotalCost = testkit.Dec("1234567890")
	page.KPIs.AvgCostPerRequest = testkit.Dec("25607.3")
	page.KPIs.Requests = 1234567890
	page.KPIs.Successes = 1234567000
	page.Budgets[0].Spent, page.Budgets[0].Limit = testkit.Dec("1234567890"), testkit.Dec("1000000000")
	page.TopUsers[0].ID = "user-0000042-long-identifier@example-organisation.com"
	page.TopOrgs[0].ID = "org-acme-support-worldwide-international"
	page.TopUsers[1].Cost = testkit.Dec("1234567890")
	pagePath, _ := writeSite(t, t.TempDir(), page, sampleIndex(t))
	for _, width := range []int{1400, 390} {
		p := openAt(t, ctx, b, pagePath, 3, width)
		var f fit
		if err := p.Eval(ctx, fitJS, &f); err != nil {
			t.Fatal(err)
		}
		if f.ScrollWidth > width {
			t.Errorf("%d px: the page is %d px wide: it scrolls sideways", width, f.ScrollWidth)
		}
		if len(f.Clipped) > 0 {
			t.Errorf("%d px: clipped figures %q", width, f.Clipped)
		}
		if len(f.Unscrolled) > 0 {
			t.Errorf("%d px: tables wider than their card, which does not scroll: %q", width, f.Unscrolled)
		}
		if len(f.Broken) > 0 {
			t.Errorf("%d px: ids broken over several lines: %q", width, f.Broken)
		}
		noErrors(t, p)
		p.Close(ctx)
	}
}

// cellFitJS lists every table cell (header, body, total) that is cut: wider than its own box, or
// reaching past the inside of its card, or in a card that has to scroll sideways to show it.
const cellFitJS = `(() => {
  const out = [];
  for (const cell of document.querySelectorAll('table th, table td')) {
    if (getComputedStyle(cell).display === 'none') continue;
    const panel = cell.closest('.panel'), ps = getComputedStyle(panel);
    const p = panel.getBoundingClientRect(), r = cell.getBoundingClientRect();
    const inner = p.right - parseFloat(ps.borderRightWidth) - parseFloat(ps.paddingRight);
    const h2 = panel.querySelector('h2');
    const where = (h2 ? h2.firstChild.textContent.trim() : 'table') + ': ' + JSON.stringify(cell.textContent.trim());
    if (cell.scrollWidth > cell.clientWidth + 1) out.push(where + ' wider than its cell');
    else if (r.right > inner + 0.5) out.push(where + ' reaches ' + Math.round(r.right - inner) + ' px past its card');
    else if (panel.scrollWidth > panel.clientWidth + 1) out.push(where + ' in a card that scrolls');
  }
  return out;
})()`

// Ensures the tables of a page with every column (the change column included, in won, whose
// amounts are long) show every cell whole inside their card: at 1400 px (where Top users and Top
// organisations, side by side, were cut at "REQU"; the envelopes' entities too) and at 390 px (a phone, where a row becomes a
// block of labelled figures).
func TestBrowserTablesFitTheirCards(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page := samplePeriod(t)
	page.Currency = "KRW"
	scale := testkit.Dec("1300")
	page.KPIs.TotalCost = page.KPIs.TotalCost.Mul(scale)
	prev := page.KPIs
	prev.TotalCost = testkit.Dec("11366")
	page.Previous, page.CompareLabel = &prev, "vs 1–7 Nov (same 7 days)"
	for i := range page.Services {
		page.Services[i].Cost = page.Services[i].Cost.Mul(scale)
		page.Services[i].Previous = Change{Known: true, Cost: testkit.Dec("1234")}
	}
	for _, rows := range [][]Spender{page.TopUsers, page.TopOrgs} {
		for i := range rows {
			rows[i].Cost = rows[i].Cost.Mul(scale)
			rows[i].Requests *= 100
			rows[i].Previous = Change{Known: true, Cost: testkit.Dec("2345")}
		}
	}
	page.TopOrgs = append(page.TopOrgs, Spender{ID: "(other)", Members: 12, Cost: testkit.Dec("1234567"), Requests: 123456,
		Previous: Change{Known: true, New: true}})
	for i := range page.Envelopes[0].Entities {
		e := &page.Envelopes[0].Entities[i]
		e.Spent, e.Limit, e.Over, e.Remaining = e.Spent.Mul(scale), e.Limit.Mul(scale), e.Over.Mul(scale), e.Remaining.Mul(scale)
	}
	page.UnpricedModels = []UnpricedModel{{Model: "claude-opus-4-1-20250805", Provider: "anthropic", Events: 12345,
		InputTokens: 123456789, OutputTokens: 12345678, TokensKnown: true}}
	pagePath, _ := writeSite(t, t.TempDir(), page, sampleIndex(t))
	for _, width := range []int{1400, 390} {
		p := openAt(t, ctx, b, pagePath, 3, width)
		var cut []string
		if err := p.Eval(ctx, cellFitJS, &cut); err != nil {
			t.Fatal(err)
		}
		for _, c := range cut {
			t.Errorf("%d px: %s", width, c)
		}
		noErrors(t, p)
		p.Close(ctx)
	}
}
