package browsertest

import (
	"context"
	"strings"
)

// EmailFit is how an HTML email lays out in a page's viewport, as a mail client that renders
// HTML would show it.
type EmailFit struct {
	Viewport    int     `json:"viewport"`    // the window's width
	ScrollWidth int     `json:"scrollWidth"` // the document's: above Viewport means horizontal scrolling
	Card        float64 `json:"card"`        // width of the email's card (the table inside the outer one)
	// Overflowing names the elements that pass the window's right edge or whose content is
	// wider than their box (a clipped or spilling figure).
	Overflowing []string `json:"overflowing"`
	// KeyTops are the top edges of the key numbers (elements with data-key), in order: equal
	// tops sit side by side, increasing tops are stacked.
	KeyTops []float64 `json:"keyTops"`
	// What a mail client would strip or block: scripts, images, <style>/<link> elements and
	// class attributes (styles must be inline).
	Scripts int `json:"scripts"`
	Images  int `json:"images"`
	Styles  int `json:"styles"`
	Classes int `json:"classes"`
}

// MeasureEmail measures the email loaded in p.
func MeasureEmail(ctx context.Context, p *Page) (EmailFit, error) {
	var f EmailFit
	err := p.Eval(ctx, `(() => {
		const vw = window.innerWidth;
		const name = e => e.tagName.toLowerCase() + ' "' + (e.textContent || '').trim().slice(0, 40) + '"';
		const overflowing = [];
		for (const e of document.body.querySelectorAll('*')) {
			const r = e.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) continue; // hidden (the preheader)
			if (r.right > vw + 0.5 || e.scrollWidth > Math.ceil(r.width) + 1) overflowing.push(name(e));
		}
		const card = document.querySelector('table table');
		return {viewport: vw, scrollWidth: document.documentElement.scrollWidth,
			card: card ? card.getBoundingClientRect().width : 0, overflowing,
			keyTops: [...document.querySelectorAll('[data-key]')].map(e => e.getBoundingClientRect().top),
			scripts: document.scripts.length, images: document.images.length,
			styles: document.querySelectorAll('style, link').length, classes: document.querySelectorAll('[class]').length};
	})()`, &f)
	return f, err
}

// OutlookView is an email's HTML as Outlook for Windows reads it: the MSO conditional comments
// (<!--[if mso]>…<![endif]-->) opened, so that the ghost tables in them are part of the page.
// Other clients (and Chromium) read them as comments.
func OutlookView(html string) string {
	return strings.NewReplacer("<!--[if mso]>", "", "<![endif]-->", "").Replace(html)
}

// GhostCell is where a key number (an element with data-key) sits: the row and column of its
// table cell and the cell's width attribute (0 when it has none, as the fluid layout's cells).
type GhostCell struct {
	Key   string `json:"key"`
	Row   int    `json:"row"`
	Col   int    `json:"col"`
	Width int    `json:"width"`
}

// GhostCells lists the cell of each key number of the email loaded in p, in order: loaded
// through OutlookView, each should be in a fixed-width cell of the ghost table.
func GhostCells(ctx context.Context, p *Page) ([]GhostCell, error) {
	var out []GhostCell
	err := p.Eval(ctx, `[...document.querySelectorAll('[data-key]')].map(e => {
		const td = e.closest('td');
		return {key: e.dataset.key, row: td.parentElement.rowIndex, col: td.cellIndex,
			width: parseInt(td.getAttribute('width') || '0', 10)};
	})`, &out)
	return out, err
}
