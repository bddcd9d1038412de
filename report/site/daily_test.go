package site

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// chartOptions are the page's chart options by data block id.
func chartOptions(t *testing.T, page string) map[string]map[string]any {
	t.Helper()
	blocks := map[string]map[string]any{}
	for _, b := range jsonBlock.FindAllStringSubmatch(page, -1) {
		var v map[string]any
		if err := json.Unmarshal([]byte(b[2]), &v); err != nil {
			t.Fatalf("%s: %v", b[1], err)
		}
		blocks[b[1]] = v
	}
	return blocks
}

// Ensures the daily chart of a month in progress says what it shows (the 7 days so far, not
// "last 30 days") and draws today, still in progress, as a dashed "so far" point instead of a
// whole day that looks like a drop.
func TestDailyChartOfMonthInProgress(t *testing.T) {
	p := samplePeriod(t)
	loc := p.Location
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	p.Period = Period{Kind: report.Monthly, Label: "2026-12", Start: dec, End: dec.AddDate(0, 1, 0)}
	p.Progress = "month to date, 7 of 31 days"
	p.Spikes = nil
	p.DailyCost = nil
	for d := 0; d < 7; d++ {
		p.DailyCost = append(p.DailyCost, DayCost{Day: dec.AddDate(0, 0, d), Cost: testkit.Dec("30000")})
	}
	p.DailyCost[6].Cost, p.DailyCost[6].Partial = testkit.Dec("4000"), true
	page := renderPeriod(t, p)
	mustContain(t, page, `Daily cost <span class="sub">7 days, 1 – 7 Dec 2026 (7 Dec so far)</span>`)
	if strings.Contains(page, "last 30 days") {
		t.Error(`the chart of 7 days is titled "last 30 days"`)
	}
	daily := chartOptions(t, page)["chart-daily-options"]
	series := daily["series"].([]any)
	if len(series) != 2 {
		t.Fatalf("%d series, want the days and the day so far", len(series))
	}
	whole := series[0].(map[string]any)["data"].([]any)
	if v := whole[6].(map[string]any)["value"]; v != "-" {
		t.Errorf("the day in progress is drawn as a whole day: %v", v)
	}
	soFar := series[1].(map[string]any)
	if soFar["name"] != "Cost so far" || soFar["lineStyle"].(map[string]any)["type"] != "dashed" {
		t.Errorf("so-far series %v %v, want a dashed line named Cost so far", soFar["name"], soFar["lineStyle"])
	}
	data := soFar["data"].([]any)
	if data[5].(map[string]any)["value"] != 30000.0 || data[6].(map[string]any)["value"] != 4000.0 || data[4].(map[string]any)["value"] != "-" {
		t.Errorf("so-far series %v: want the line from the last whole day to today's cost so far", data)
	}
	mark := soFar["markPoint"].(map[string]any)["data"].([]any)[0].(map[string]any)
	if mark["label"].(map[string]any)["formatter"] != "so far" {
		t.Errorf("today's point is not labelled so far: %v", mark)
	}
}

// Ensures a week's page shades the week's days on its 30-day chart, labelled with the week, and
// that a finished period draws no "so far" line.
func TestDailyChartMarksTheWeek(t *testing.T) {
	p := samplePeriod(t)
	loc := p.Location
	mon := time.Date(2025, 9, 22, 0, 0, 0, 0, loc)
	p.Period = Period{Kind: report.Weekly, Label: "2025-W39", Start: mon, End: mon.AddDate(0, 0, 7)}
	page := renderPeriod(t, p)
	mustContain(t, page, `Daily cost <span class="sub">30 days, 2 Sep – 1 Oct 2025</span>`)
	series := chartOptions(t, page)["chart-daily-options"]["series"].([]any)
	if len(series) != 1 {
		t.Errorf("%d series: a finished period has no day in progress", len(series))
	}
	area, ok := series[0].(map[string]any)["markArea"].(map[string]any)
	if !ok {
		t.Fatal("the week's days are not marked")
	}
	got, _ := json.Marshal(area["data"])
	if want := `[[{"name":"2025-W39","xAxis":"22 Sep"},{"xAxis":"28 Sep"}]]`; string(got) != want {
		t.Errorf("marked %s, want %s", got, want)
	}
}
