package site

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/browsertest"
	"github.com/aispend/aispend/report"
)

// headlineIndex is the sample landing page on 7 December 2026 at 15:00, with the month to date
// compared with the part of November that has data, its last 30 days and a published page of
// December (in progress) and November.
func headlineIndex(t *testing.T) IndexPage {
	idx := sampleIndex(t)
	loc := idx.Location
	idx.Currency = "KRW"
	idx.GeneratedAt = time.Date(2026, 12, 7, 15, 0, 0, 0, loc)
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	nov := dec.AddDate(0, -1, 0)
	month := Period{Kind: report.Monthly, Label: "2026-12", Start: dec, End: dec.AddDate(0, 1, 0)}
	idx.Reports = append(idx.Reports, PublishedReport{Period: month},
		PublishedReport{Period: Period{Kind: report.Monthly, Label: "2026-11", Start: nov, End: dec}})
	prev := testkit.Dec("11366")
	h := &SpendHeadline{Month: month, Progress: "month to date, 7 of 31 days", Cost: testkit.Dec("251611"),
		Previous: &prev, CompareLabel: "vs 7 Nov 11:02–24:00, when data begin", CompareBasis: report.BasisPartial}
	for d := 29; d >= 0; d-- {
		day := dec.AddDate(0, 0, 6-d)
		h.Days = append(h.Days, DayCost{Day: day, Cost: testkit.Dec("36000"), NoData: day.Before(nov.AddDate(0, 0, 6))})
	}
	h.Days[29].Cost, h.Days[29].Partial = testkit.Dec("15611"), true
	idx.Spend = h
	return idx
}

// Ensures the landing page leads with the month's spend to date (the month named and marked in
// progress, its comparison on the month page's terms: the amount without a percentage of part
// of November, and what it compares with) and a trend of its last 30 days drawn in Chromium with
// today dashed; and that the month in progress is marked "in progress" among the reports, the
// month before not.
func TestBrowserIndexHeadline(t *testing.T) {
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, indexPath := writeSite(t, t.TempDir(), samplePeriod(t), headlineIndex(t))
	for _, width := range []int{1400, 390} {
		p := openAt(t, ctx, b, indexPath, 1, width)
		var got struct {
			Head     string   `json:"head"`
			Trend    string   `json:"trend"`
			Series   []string `json:"series"`
			Progress []string `json:"progress"`
		}
		js := `(() => {
		  const c = echarts.getInstanceByDom(document.getElementById('chart-trend'));
		  return {head: document.querySelector('.spend').innerText,
		    trend: document.querySelector('.spend-trend .kpi-detail').innerText,
		    series: c.getOption().series.map(s => s.name + ':' + ((s.lineStyle || {}).type || 'solid')),
		    progress: Array.from(document.querySelectorAll('.badge-progress')).map(b => b.closest('li, a, h2').innerText)};
		})()`
		if err := p.Eval(ctx, js, &got); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"December 2026", "in progress", "₩251,611", "month to date, 7 of 31 days",
			"+₩240,245 vs 7 Nov 11:02–24:00, when data begin"} {
			if !strings.Contains(got.Head, want) {
				t.Errorf("%d px: headline lacks %q:\n%s", width, want, got.Head)
			}
		}
		if strings.Contains(got.Head, "%") {
			t.Errorf("%d px: headline states a percentage of part of a month:\n%s", width, got.Head)
		}
		if got.Trend != "Daily cost · 30 days, 8 Nov – 7 Dec 2026 (7 Dec so far)" {
			t.Errorf("%d px: trend %q", width, got.Trend)
		}
		if strings.Join(got.Series, ",") != "Cost:solid,Cost so far:dashed" {
			t.Errorf("%d px: trend series %v, want the days and today dashed", width, got.Series)
		}
		// The headline, the latest monthly report's card and its archive line; nothing else.
		if len(got.Progress) != 3 || !strings.HasPrefix(got.Progress[0], "Spend · December 2026") ||
			!strings.Contains(got.Progress[1], "2026-12") || !strings.Contains(got.Progress[2], "2026-12") {
			t.Errorf("%d px: marked in progress: %q; want the headline and the December report only", width, got.Progress)
		}
		var cut []string
		if err := p.Eval(ctx, fitJS+`.clipped`, &cut); err != nil {
			t.Fatal(err)
		}
		if len(cut) > 0 {
			t.Errorf("%d px: clipped %q", width, cut)
		}
		charts := readTexts(t, ctx, p)
		for _, d := range textDefects(charts["chart-trend"]) {
			t.Errorf("%d px: trend: %s", width, d)
		}
		noErrors(t, p)
		onlyLocal(t, p)
		p.Close(ctx)
	}
}
