package site

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/browsertest"
)

// go test ./report/site -run TestBrowserPeriodPage -screenshot ../screenshots/report-page.png
var screenshot = flag.String("screenshot", "", "write the sample period page's screenshot (PNG) to this file")

func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

// open loads a page from disk in a fresh tab and waits until every chart container has a canvas.
func open(t *testing.T, ctx context.Context, b *browsertest.Browser, path string, charts int) *browsertest.Page {
	t.Helper()
	return openAt(t, ctx, b, path, charts, 1280)
}

// openAt is open in a window width pixels wide.
func openAt(t *testing.T, ctx context.Context, b *browsertest.Browser, path string, charts, width int) *browsertest.Page {
	t.Helper()
	p, err := b.NewPage(ctx, width, 900)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, fileURL(path)); err != nil {
		t.Fatal(err)
	}
	// Wait for the charts, but stop at the first browser error: it will not draw them.
	cond := fmt.Sprintf("document.querySelectorAll('.chart canvas').length === %d", charts)
	for {
		var ok bool
		if err := p.Eval(ctx, cond, &ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if errs := p.Errors(); len(errs) > 0 {
			t.Fatalf("%s: charts not drawn; browser reported %v", path, errs)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: charts not drawn: %v; messages: %v", path, ctx.Err(), p.Messages())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Let echarts finish its first frame.
	if err := p.Eval(ctx, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// onlyLocal fails the test if the page asked for anything but files (the assets).
func onlyLocal(t *testing.T, p *browsertest.Page) {
	t.Helper()
	reqs := p.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests recorded")
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r, "file://") && !strings.HasPrefix(r, "data:") {
			t.Errorf("page requested %s: pages must work with no network", r)
		}
	}
}

func noErrors(t *testing.T, p *browsertest.Page) {
	t.Helper()
	for _, m := range p.Errors() {
		t.Errorf("browser reported %s", m)
	}
}

// chartStats is what the page's charts show, read back through the echarts API and the canvas.
type chartStats struct {
	ID      string   `json:"id"`
	Series  int      `json:"series"`
	Points  int      `json:"points"`
	Names   []string `json:"names"`
	Painted float64  `json:"painted"` // share of canvas pixels that are not transparent
	Width   int      `json:"width"`
}

const chartStatsJS = `Array.from(document.querySelectorAll('.chart')).map(el => {
  const c = echarts.getInstanceByDom(el), o = c.getOption(), cv = el.querySelector('canvas');
  const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  let painted = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  const s = o.series[0], y = [].concat(o.yAxis || []), x = [].concat(o.xAxis || []);
  const names = s.type === 'pie' ? s.data.map(d => d.name) : [].concat(...y.concat(x).map(a => a.data || []));
  return {id: el.id, series: o.series.length, points: s.data.length, names,
          painted: painted / (cv.width * cv.height), width: cv.width};
})`

func readCharts(t *testing.T, ctx context.Context, p *browsertest.Page) map[string]chartStats {
	t.Helper()
	var list []chartStats
	if err := p.Eval(ctx, chartStatsJS, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]chartStats{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// Ensure a period page opened from disk with the network off draws all three charts with the
// page's data, logs no errors, requests nothing but its own files, and the index page too.
func TestBrowserPeriodPageDrawsCharts(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sample := samplePeriod(t)
	pagePath, indexPath := writeSite(t, t.TempDir(), sample, sampleIndex(t))

	p := open(t, ctx, b, pagePath, 3)
	charts := readCharts(t, ctx, p)
	want := map[string]int{"chart-daily": len(sample.DailyCost), "chart-services": len(sample.Services), "chart-models": len(sample.Models)}
	for id, points := range want {
		c, ok := charts[id]
		if !ok {
			t.Errorf("chart %s missing", id)
			continue
		}
		if c.Points != points {
			t.Errorf("chart %s has %d points, want %d", id, c.Points, points)
		}
		// A blank canvas has no painted pixel; a drawn chart covers well over 1% of it.
		if c.Painted < 0.01 {
			t.Errorf("chart %s looks empty: %.4f of its pixels painted", id, c.Painted)
		}
	}
	var title string
	if err := p.Eval(ctx, "document.title", &title); err != nil {
		t.Fatal(err)
	}
	if title != "AI spend report · 2025-10-01" {
		t.Errorf("title %q", title)
	}
	shot, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if w := img.Bounds().Dx(); w != 1280 {
		t.Errorf("screenshot width %d, want 1280", w)
	}
	if *screenshot != "" {
		if err := os.WriteFile(*screenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noErrors(t, p)
	onlyLocal(t, p)

	idx := open(t, ctx, b, indexPath, 0)
	var links []string
	if err := idx.Eval(ctx, `Array.from(document.querySelectorAll('.archive a:not(.xlsx)')).map(a => a.getAttribute('href'))`, &links); err != nil {
		t.Fatal(err)
	}
	if len(links) != 8 || links[0] != "daily/2025-10-01/index.html" {
		t.Errorf("index links %v", links)
	}
	var stylesheets int
	if err := idx.Eval(ctx, `document.styleSheets.length`, &stylesheets); err != nil || stylesheets != 1 {
		t.Errorf("index stylesheet loaded: %d, %v", stylesheets, err)
	}
	noErrors(t, idx)
	onlyLocal(t, idx)
}

// Ensure text from events shows as text everywhere (tables, budget cards, alert timeline, chart
// labels and tooltips) and runs nothing: the title stays, no dialog opens, no element is
// injected, the onerror handler never fires.
func TestBrowserHostileLabelsStayText(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hostile := hostilePeriod(t)
	idx := sampleIndex(t)
	idx.Budgets = hostile.Budgets
	pagePath, indexPath := writeSite(t, t.TempDir(), hostile, idx)

	p := open(t, ctx, b, pagePath, 3)
	checkInert := func(stage string) {
		t.Helper()
		var state struct {
			Title  string `json:"title"`
			Pwned  bool   `json:"pwned"`
			Images int    `json:"images"`
			Text   string `json:"text"`
		}
		js := `({title: document.title, pwned: document.body.dataset.pwned !== undefined,
		         images: document.querySelectorAll('img').length, text: document.body.innerText})`
		if err := p.Eval(ctx, js, &state); err != nil {
			t.Fatal(err)
		}
		if state.Title != "AI spend report · 2025-10-01" || state.Pwned || state.Images != 0 {
			t.Errorf("%s: title %q, pwned %v, %d injected images", stage, state.Title, state.Pwned, state.Images)
		}
		for _, s := range []string{xssScript, xssFunc, xssImg} {
			if !strings.Contains(state.Text, s) {
				t.Errorf("%s: page text does not show %q", stage, s)
			}
		}
	}
	checkInert("after load")

	// The charts received the labels as data: the marker is defused, the text otherwise intact.
	charts := readCharts(t, ctx, p)
	for _, id := range []string{"chart-services", "chart-models"} {
		names := strings.Join(charts[id].Names, "\n")
		for _, s := range []string{xssScript, chartText(xssFunc), xssImg} {
			if !strings.Contains(names, s) {
				t.Errorf("%s labels %q lack %q", id, charts[id].Names, s)
			}
		}
	}

	// Tooltips are HTML: show each hostile slice's and bar's tooltip and look again.
	for _, tip := range []struct{ id, want string }{
		{"chart-services", xssScript}, {"chart-services", chartText(xssFunc)}, {"chart-services", xssImg},
		{"chart-models", xssImg},
	} {
		js := fmt.Sprintf(`(() => {
		  const c = echarts.getInstanceByDom(document.getElementById(%q));
		  const o = c.getOption(), s = o.series[0];
		  const names = s.type === 'pie' ? s.data.map(d => d.name) : [].concat(o.yAxis)[0].data;
		  const i = names.indexOf(%q);
		  c.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
		  return new Promise(r => setTimeout(() => {
		    const tips = Array.from(document.querySelectorAll('#' + %q + ' div')).filter(d => d.style.position === 'absolute' && d.innerText);
		    r(tips.map(d => d.innerText).join('\n'));
		  }, 100));
		})()`, tip.id, tip.want, tip.id)
		var text string
		if err := p.Eval(ctx, js, &text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, tip.want) {
			t.Errorf("%s tooltip %q does not show %q as text", tip.id, text, tip.want)
		}
		checkInert("after tooltip " + tip.want)
	}
	noErrors(t, p)
	onlyLocal(t, p)

	ip := open(t, ctx, b, indexPath, 0)
	var text string
	if err := ip.Eval(ctx, "document.body.innerText", &text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, xssImg) || !strings.Contains(text, xssScript) {
		t.Errorf("index does not show the hostile budget texts: %q", text)
	}
	var pwned bool
	if err := ip.Eval(ctx, "document.body.dataset.pwned !== undefined || document.querySelectorAll('img').length > 0", &pwned); err != nil || pwned {
		t.Errorf("index ran injected markup: %v %v", pwned, err)
	}
	noErrors(t, ip)
}
