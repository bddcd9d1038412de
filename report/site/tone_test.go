package site

import (
	"context"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
)

// Ensures a change is coloured by what it means for its metric, not by its sign: in Chromium, a
// success rate that fell and a cost that rose show amber, a cache-hit rate that rose and a cost
// that fell show green, and a change in the number of requests shows neither.
func TestBrowserChangeColoursFollowMetricDirection(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page := samplePeriod(t)
	prev := page.KPIs
	prev.TotalCost = testkit.Dec("1000")         // cost rose: bad
	prev.Successes = page.KPIs.Requests          // success rate fell from 100 %: bad
	prev.CacheHits = page.KPIs.CacheHits / 2     // cache-hit rate rose: good
	prev.Requests = page.KPIs.Requests           // same requests, so the rates move as set above
	prev.AvgCostPerRequest = testkit.Dec("0.05") // average cost fell: good
	page.Previous, page.CompareLabel = &prev, "vs 30 Sep"
	page.TopUsers[0].Previous = Change{Known: true, Cost: testkit.Dec("200")} // fell: good
	page.TopUsers[1].Previous = Change{Known: true, Cost: testkit.Dec("100")} // rose: bad
	pagePath, _ := writeSite(t, t.TempDir(), page, sampleIndex(t))
	p := openAt(t, ctx, b, pagePath, 3, 1400)

	var got map[string]string
	js := `(() => {
	  const out = {};
	  for (const k of document.querySelectorAll('.kpi')) {
	    const c = k.querySelector('.kpi-change');
	    if (c) out[k.querySelector('.kpi-label').textContent] = getComputedStyle(c).color;
	  }
	  const users = document.querySelectorAll('.panel')[Array.from(document.querySelectorAll('.panel h2')).findIndex(h => h.textContent.startsWith('Top users'))];
	  const cells = users.querySelectorAll('tbody td.change');
	  out['user 1'] = getComputedStyle(cells[0]).color; out['user 2'] = getComputedStyle(cells[1]).color;
	  return out;
	})()`
	if err := p.Eval(ctx, js, &got); err != nil {
		t.Fatal(err)
	}
	const green, amber = "rgb(4, 120, 87)", "rgb(180, 83, 9)"
	for label, want := range map[string]string{
		"Total cost": amber, "Success rate": amber, "Cache-hit rate": green, "Avg cost / request": green,
		"user 1": green, "user 2": amber,
	} {
		if got[label] != want {
			t.Errorf("%s change is %s, want %s (%s)", label, got[label], want, map[string]string{green: "green", amber: "amber"}[want])
		}
	}
	if c := got["Requests"]; c == "" || c == green || c == amber {
		t.Errorf("Requests change is %q: more or fewer requests are neither good nor bad", c)
	}
	noErrors(t, p)
}
