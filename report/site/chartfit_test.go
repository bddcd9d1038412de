package site

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
)

// chartText is one text echarts drew, in the chart's pixels.
type drawnText struct {
	Text string  `json:"text"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w"`
	H    float64 `json:"h"`
}

type drawnChart struct {
	ID     string      `json:"id"`
	Width  float64     `json:"width"`
	Height float64     `json:"height"`
	Texts  []drawnText `json:"texts"`
}

// drawnTextsJS reads back every text each chart drew (axis labels, slice and bar labels, the
// legend) from echarts' display list, with its box in the chart's pixels: what the canvas shows.
const drawnTextsJS = `Array.from(document.querySelectorAll('.chart')).map(el => {
  const c = echarts.getInstanceByDom(el);
  // A label of several lines is one text element drawn as one span per line: its box is
  // the union of its spans' boxes, its text their texts (as shortened on screen).
  const byText = new Map();
  for (const d of c.getZr().storage.getDisplayList(true)) {
    if (d.type !== 'tspan' || d.ignore || d.invisible || !d.style || !d.style.text || d.style.opacity === 0) continue;
    const r = d.getBoundingRect().clone(), m = d.getComputedTransform();
    if (m) r.applyTransform(m);
    const key = d.parent && d.parent.type === 'text' ? d.parent : d, t = byText.get(key);
    if (!t) { byText.set(key, {text: String(d.style.text), x: r.x, y: r.y, w: r.width, h: r.height}); continue; }
    const x1 = Math.max(t.x + t.w, r.x + r.width), y1 = Math.max(t.y + t.h, r.y + r.height);
    t.x = Math.min(t.x, r.x); t.y = Math.min(t.y, r.y); t.w = x1 - t.x; t.h = y1 - t.y;
    t.text += '\n' + d.style.text;
  }
  const texts = [...byText.values()];
  return {id: el.id, width: el.clientWidth, height: el.clientHeight, texts};
})`

// readTexts is drawnTextsJS's answer, keyed by chart id.
func readTexts(t *testing.T, ctx context.Context, p *browsertest.Page) map[string]drawnChart {
	t.Helper()
	var list []drawnChart
	if err := p.Eval(ctx, drawnTextsJS, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]drawnChart{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// textDefects lists what makes a chart's texts unreadable: two that overlap (by more than a
// pixel each way), one that reaches past the chart, one shortened to
// an ellipsis with fewer than three characters left ("…", "A…").
func textDefects(c drawnChart) []string {
	var out []string
	for i, a := range c.Texts {
		for _, line := range strings.Split(a.Text, "\n") {
			short, cut := strings.CutSuffix(line, "...")
			if !cut {
				short, cut = strings.CutSuffix(line, "…")
			}
			if cut && utf8.RuneCountInString(strings.TrimSpace(short)) < 3 {
				out = append(out, "label "+quote(a.Text)+" is cut to an ellipsis")
				break
			}
		}
		if a.X < -0.5 || a.Y < -0.5 || a.X+a.W > c.Width+0.5 || a.Y+a.H > c.Height+0.5 {
			out = append(out, "label "+quote(a.Text)+" reaches past the chart")
		}
		for _, b := range c.Texts[i+1:] {
			if a.X+1 < b.X+b.W && b.X+1 < a.X+a.W && a.Y+1 < b.Y+b.H && b.Y+1 < a.Y+a.H {
				out = append(out, "labels "+quote(a.Text)+" and "+quote(b.Text)+" overlap")
			}
		}
	}
	return out
}

func quote(s string) string { return "\"" + s + "\"" }

// Ensures every chart of a period page is readable on a phone (390 px) and on a desktop (1400 px):
// no two texts overlap (axis ticks such as "₩30k₩60k₩90k" did), none reaches past the chart and
// none is only an ellipsis (the donut's slices were labelled "… …", "A…").
func TestBrowserChartLabelsReadable(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page := samplePeriod(t)
	page.Currency = "KRW" // long amounts: ₩1,234,567
	scale := testkit.Dec("1300")
	for i := range page.DailyCost {
		page.DailyCost[i].Cost = page.DailyCost[i].Cost.Mul(scale)
	}
	for i := range page.Services {
		page.Services[i].Cost = page.Services[i].Cost.Mul(scale)
	}
	page.Services = append(page.Services, CostShare{Name: "(other: 4 services)", Members: 4, Cost: testkit.Dec("20000")},
		CostShare{Name: "ANALYTICS-PIPELINE-NIGHTLY", Cost: testkit.Dec("9000")})
	for i := range page.Models {
		page.Models[i].Cost = page.Models[i].Cost.Mul(scale)
	}
	page.Models = append(page.Models, CostShare{Name: "claude-opus-4-1-20250805-with-a-long-name", Cost: testkit.Dec("120000")})
	pagePath, _ := writeSite(t, t.TempDir(), page, sampleIndex(t))
	for _, width := range []int{390, 1400} {
		p := openAt(t, ctx, b, pagePath, 3, width)
		charts := readTexts(t, ctx, p)
		for _, id := range []string{"chart-daily", "chart-services", "chart-models"} {
			c := charts[id]
			if len(c.Texts) == 0 {
				t.Errorf("%d px: %s drew no text", width, id)
			}
			for _, d := range textDefects(c) {
				t.Errorf("%d px: %s: %s", width, id, d)
			}
		}
		noErrors(t, p)
		p.Close(ctx)
	}
}
