package site

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// writePeriod prepares and writes a period page, as a batch run does.
func writePeriod(w io.Writer, p PeriodPage) error {
	h, err := PreparePeriod(p)
	if err != nil {
		return err
	}
	return h.Write(w)
}

func renderPeriod(t *testing.T, p PeriodPage) string {
	t.Helper()
	var buf bytes.Buffer
	if err := writePeriod(&buf, p); err != nil {
		t.Fatalf("render period page: %v", err)
	}
	return buf.String()
}

func renderIndex(t *testing.T, p IndexPage) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderIndex(&buf, p); err != nil {
		t.Fatalf("RenderIndex: %v", err)
	}
	return buf.String()
}

var (
	jsonBlock = regexp.MustCompile(`(?s)<script type="application/json" id="([^"]+)">(.*?)</script>`)
	scriptTag = regexp.MustCompile(`<script[^>]*>`)
	srcHref   = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
)

func mustContain(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// Ensure the period page shows every figure a report page promises, formatted in the reporting
// currency and the stated time zone, and links only to relative, local files.
func TestRenderPeriodShowsEverything(t *testing.T) {
	page := renderPeriod(t, samplePeriod(t))

	mustContain(t, page,
		// header: period, currency, time zone, links
		"<title>AI spend report · 2025-10-01</title>", "Wednesday 1 October 2025", "amounts in USD",
		"times in Europe/Berlin (UTC&#43;02:00)", `href="../../index.html"`,
		`href="aispend-daily-2025-10-01.xlsx" download`, `href="aispend-daily-2025-10-01-events.csv.gz" download`,
		// KPIs
		"$1,284.56", "48,211", "607 failed", "98.7 %", "35.9 %", "17,355 cache hits", "$0.0271", ">38<",
		"excludes 38 unpriced",
		// budgets: spent/limit, exact percent, bar width, state, reset time
		"daily-total", "$1,500.00", "85.6 % used", `style="width: 85.6%"`, "badge-warning", "$215.44 left",
		"102.0 % used", `style="width: 100.0%"`, "over by $12.40", "EXCEEDED", "Resets 2 Oct 2025, 00:00",
		"service = code-review", "weekly budget",
		// envelopes: the summary and each entity's figures as given, never recomputed
		"per-user-daily", "per user_id · 1,204 users spent · 1 at or over their envelope · the 2 nearest shown",
		"u-20871 (ana.lopez)", "$61.20", "$50.00", "122.4 %", "over by $11.20", "96.2 %", "$1.90 left",
		// services with latency
		"support-chat", "$612.40", "47.6 %", "21,034", "820 ms", "2.31 s", "240 ms",
		// top users and orgs
		"u-10442 (jana.novak)", "$141.20", "10.9 %", "acme-support", "49.8 %",
		// alert timeline: time in zone, threshold, kind, status, amount
		"1 Oct 2025, 18:05", "crossed 100% on actual spend ($603.90)", "crossed 95% on forecast ($1,611.00)",
		`<span class="status">pending</span>`,
		// no inline script may run, even if something slipped through escaping
		`content="default-src 'none'; script-src 'self';`,
		// footer and assets
		"Generated 2 Oct 2025, 06:00", `src="../../assets/echarts.min.js"`, `src="../../assets/site.js"`,
		`href="../../assets/site.css"`, `href="../../assets/echarts-LICENSE.txt"`,
	)
	// Alerts newest first.
	if i, j := strings.Index(page, "1 Oct 2025, 20:05"), strings.Index(page, "1 Oct 2025, 11:05"); i < 0 || j < i {
		t.Errorf("alert timeline not newest first (20:05 at %d, 11:05 at %d)", i, j)
	}
	// Every link and source is relative and local: the page works from disk and from S3.
	for _, m := range srcHref.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], ":") || strings.HasPrefix(m[1], "/") {
			t.Errorf("non-relative link %q", m[1])
		}
	}
	// One shared copy of the library: one <script src> for it, three chart data blocks, and
	// nothing else that runs.
	if n := strings.Count(page, "echarts.min.js"); n != 1 {
		t.Errorf("echarts.min.js referenced %d times", n)
	}
	tags := scriptTag.FindAllString(page, -1)
	if len(tags) != 6 {
		t.Errorf("script tags %q: want 4 JSON blocks and 2 script files", tags)
	}
	blocks := jsonBlock.FindAllStringSubmatch(page, -1)
	ids := []string{}
	for _, b := range blocks {
		ids = append(ids, b[1])
		if !json.Valid([]byte(b[2])) {
			t.Errorf("block %s is not JSON", b[1])
		}
	}
	if strings.Join(ids, ",") != "chart-daily-options,chart-services-options,chart-models-options,aispend-format" {
		t.Errorf("JSON blocks %v", ids)
	}
	for _, id := range []string{"chart-daily", "chart-services", "chart-models"} {
		mustContain(t, page, `id="`+id+`" data-options="`+id+`-options"`)
	}
	if len(page) > 60_000 {
		t.Errorf("page is %d bytes; the library must not be inlined", len(page))
	}
}

// Ensure the chart options carry the data: 30 days in order, the services and models, the
// money format for site.js, and no animation (screenshots would capture empty bars).
func TestRenderPeriodChartOptions(t *testing.T) {
	p := samplePeriod(t)
	// Out of order input is drawn in date order.
	p.DailyCost[0], p.DailyCost[29] = p.DailyCost[29], p.DailyCost[0]
	blocks := map[string]map[string]any{}
	for _, b := range jsonBlock.FindAllStringSubmatch(renderPeriod(t, p), -1) {
		var v map[string]any
		if err := json.Unmarshal([]byte(b[2]), &v); err != nil {
			t.Fatalf("%s: %v", b[1], err)
		}
		blocks[b[1]] = v
	}
	daily := blocks["chart-daily-options"]
	days := daily["xAxis"].([]any)[0].(map[string]any)["data"].([]any)
	if len(days) != 30 || days[0] != "2 Sep" || days[29] != "1 Oct" {
		t.Errorf("daily axis %v", days)
	}
	last := daily["series"].([]any)[0].(map[string]any)["data"].([]any)[29].(map[string]any)["value"]
	if last != 1284.5632 {
		t.Errorf("last day value %v, want the period's total", last)
	}
	for id, v := range blocks {
		if id != "aispend-format" && v["animation"] != false {
			t.Errorf("%s: animation %v, want false", id, v["animation"])
		}
	}
	pie := blocks["chart-services-options"]["series"].([]any)[0].(map[string]any)["data"].([]any)
	if len(pie) != 5 || pie[0].(map[string]any)["name"] != "support-chat" || pie[0].(map[string]any)["value"] != 612.4 {
		t.Errorf("pie data %v", pie)
	}
	models := blocks["chart-models-options"]["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
	if len(models) != 6 || models[5] != "gpt-4.1" || models[0] != "text-embedding-3-large" {
		t.Errorf("model axis %v: want largest on top (last entry)", models)
	}
	if f := blocks["aispend-format"]; f["symbol"] != "$" || f["digits"] != 2.0 {
		t.Errorf("format %v", f)
	}
}

// Ensure a currency without minor units is formatted as such on the page and for site.js.
func TestRenderPeriodCurrencyKRW(t *testing.T) {
	p := samplePeriod(t)
	p.Currency = "KRW"
	p.KPIs.TotalCost = testkit.Dec("1234567.5")
	p.KPIs.AvgCostPerRequest = testkit.Dec("25.607")
	page := renderPeriod(t, p)
	mustContain(t, page, "₩1,234,568", "₩25.61", "amounts in KRW", `{"digits":0,"symbol":"₩"}`)
}

// Ensure hostile text from events is escaped in the HTML and inert in the chart JSON: no raw
// <, > or & in any data block, the go-echarts "__f__" marker defused, and only the page's own
// script tags present.
func TestRenderPeriodEscapesEventText(t *testing.T) {
	page := renderPeriod(t, hostilePeriod(t))
	for _, bad := range []string{"<script>document.title", "<img src=x", "</script><script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains raw %q", bad)
		}
	}
	mustContain(t, page,
		"&lt;/script&gt;&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;",
		"&lt;img src=x onerror=&#34;document.body.dataset.pwned=1&#34;&gt;",
	)
	if tags := scriptTag.FindAllString(page, -1); len(tags) != 6 {
		t.Errorf("script tags %q: hostile text added some", tags)
	}
	for _, b := range jsonBlock.FindAllStringSubmatch(page, -1) {
		if strings.ContainsAny(b[2], "<>&") {
			t.Errorf("block %s has raw <, > or &: %s", b[1], b[2])
		}
		var v any
		if err := json.Unmarshal([]byte(b[2]), &v); err != nil {
			t.Errorf("block %s: %v", b[1], err)
		}
		if b[1] == "chart-services-options" || b[1] == "chart-models-options" {
			for _, want := range []string{xssScript, chartText(xssFunc), xssImg} {
				enc, _ := json.Marshal(want)
				if !strings.Contains(b[2], string(enc)) {
					t.Errorf("block %s lacks label %s", b[1], enc)
				}
			}
		}
	}
	// In HTML the marker means nothing: tables show it verbatim, as text.
	mustContain(t, page, "<td class=\"id\">"+xssFunc+"</td>")
}

// Ensure the "__f__" marker cannot survive in any chart label, also when markers overlap.
func TestChartTextDefusesFunctionMarker(t *testing.T) {
	for _, in := range []string{"__f__alert(1)__f__", "__f__f__f__", "___f___", "a__f__", "__f____f__"} {
		out := chartText(in)
		if strings.Contains(out, "__f__") {
			t.Errorf("chartText(%q) = %q still has the marker", in, out)
		}
		if strings.ReplaceAll(out, "\u200b", "") != in {
			t.Errorf("chartText(%q) = %q changed the visible text", in, out)
		}
	}
	if got := chartText(""); got != "(none)" {
		t.Errorf("empty label shows %q", got)
	}
	long := strings.Repeat("x", 150)
	if got := []rune(chartText(long)); len(got) != maxLabelRunes || got[len(got)-1] != '…' {
		t.Errorf("long label: %d runes", len(got))
	}
}

// Ensure many models become 11 bars plus one summed bar.
func TestModelBarsCapped(t *testing.T) {
	var models []CostShare
	for i := 0; i < 20; i++ {
		models = append(models, CostShare{Name: "m" + string(rune('a'+i)), Cost: testkit.Dec("1.25"), Requests: 2})
	}
	opts := modelBarOptions(models)
	b, _ := json.Marshal(opts)
	var v struct {
		YAxis []struct {
			Data []string `json:"data"`
		} `json:"yAxis"`
		Series []struct {
			Data []struct {
				Value float64 `json:"value"`
			} `json:"data"`
		} `json:"series"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	names, data := v.YAxis[0].Data, v.Series[0].Data
	if len(names) != maxModelBars || names[0] != "9 other models" || data[0].Value != 11.25 {
		t.Errorf("bars %v %v", names, data)
	}
}

// Ensure the landing page shows budget status and links every published period, grouped by
// kind, newest first, with workbook links where there is a workbook.
func TestRenderIndex(t *testing.T) {
	page := renderIndex(t, sampleIndex(t))
	mustContain(t, page,
		"<title>AI spend reports</title>", `href="assets/site.css"`, "Budget status", "as of 2 Oct 2025, 06:00",
		"85.6 % used", "daily-total", "times in Europe/Berlin (UTC&#43;02:00)",
		`href="daily/2025-10-01/index.html"`, `href="daily/2025-10-01/aispend-daily-2025-10-01.xlsx" download`,
		`href="weekly/2025-W40/index.html"`, "29 Sep – 5 Oct 2025", `href="monthly/2025-09/index.html"`, "September 2025",
		`href="monthly/2025-09/aispend-monthly-2025-09.xlsx"`,
	)
	if strings.Contains(page, "weekly/2025-W40/aispend") {
		t.Error("workbook link for a report without workbook")
	}
	if strings.Contains(page, "echarts.min.js") {
		t.Error("index loads the chart library but has no chart")
	}
	archive := page[strings.Index(page, "Archive"):]
	var order []string
	for _, m := range regexp.MustCompile(`<li><a href="daily/([^/]+)/index.html"`).FindAllStringSubmatch(archive, -1) {
		order = append(order, m[1])
	}
	if strings.Join(order, ",") != "2025-10-01,2025-09-30,2025-09-29,2025-09-28,2025-09-27" {
		t.Errorf("daily archive order %v", order)
	}
	if i, j := strings.Index(archive, "2025-W40"), strings.Index(archive, "2025-W39"); j < i {
		t.Error("weekly archive not newest first")
	}
	latest := page[strings.Index(page, "Latest reports"):strings.Index(page, "Archive")]
	mustContain(t, latest, `href="daily/2025-10-01/index.html"`, `href="weekly/2025-W40/index.html"`, `href="monthly/2025-09/index.html"`)
}

// Ensure bad input is a clear error, never a panic or a page with broken links.
func TestRenderRejectsBadInput(t *testing.T) {
	cases := map[string]func(p *PeriodPage){
		"currency is required":             func(p *PeriodPage) { p.Currency = " " },
		"time zone (Location) is required": func(p *PeriodPage) { p.Location = nil },
		`period kind "hourly"`:             func(p *PeriodPage) { p.Period.Kind = "hourly" },
		`label "../../etc"`:                func(p *PeriodPage) { p.Period.Label = "../../etc" },
		`label "2025-10"`:                  func(p *PeriodPage) { p.Period.Label = "2025-10" },
		"is not after start":               func(p *PeriodPage) { p.Period.End = p.Period.Start },
		`unknown state "red"`:              func(p *PeriodPage) { p.Budgets[1].State = "red" },
		`unknown severity ""`:              func(p *PeriodPage) { p.Alerts[0].Severity = "" },
		`kind "guess"`:                     func(p *PeriodPage) { p.Alerts[2].Kind = "guess" },
		"must be a plain file name":        func(p *PeriodPage) { p.Workbook = "javascript:alert(1)" },
		`"../x.csv.gz" must be a plain`:    func(p *PeriodPage) { p.EventsCSV = "../x.csv.gz" },
	}
	for want, mutate := range cases {
		p := samplePeriod(t)
		mutate(&p)
		err := writePeriod(&bytes.Buffer{}, p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v", want, err)
		}
	}
	idx := sampleIndex(t)
	idx.Reports[0].Period.Label = "x/y"
	if err := RenderIndex(&bytes.Buffer{}, idx); err == nil || !strings.Contains(err.Error(), `label "x/y"`) {
		t.Errorf("index with bad label: %v", err)
	}
	idx = sampleIndex(t)
	idx.Location = nil
	if err := RenderIndex(&bytes.Buffer{}, idx); err == nil {
		t.Error("index without time zone rendered")
	}
}

// Ensure empty data renders notes rather than empty frames or errors.
func TestRenderPeriodEmpty(t *testing.T) {
	loc := time.UTC
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, loc)
	page := renderPeriod(t, PeriodPage{
		Period:   Period{Kind: report.Monthly, Label: "2025-10", Start: start, End: start.AddDate(0, 1, 0)},
		Currency: "EUR", Location: loc,
	})
	mustContain(t, page, "<title>AI spend report · 2025-10</title>", "October 2025", "€0.00", "No data for this period.",
		"No requests in this period.", "No alerts in this period.", "times in UTC (UTC&#43;00:00)")
	if strings.Contains(page, `class="chart"`) || strings.Contains(page, "Download workbook") {
		t.Error("empty page draws chart frames or links a workbook")
	}
}

// Ensure the published assets are complete, pinned, licensed, and safe to serve.
func TestAssets(t *testing.T) {
	a := Assets()
	for _, name := range []string{"echarts.min.js", "echarts-LICENSE.txt", "echarts-NOTICE.txt",
		"echarts-LICENSE-d3.txt", "zrender-LICENSE.txt", "site.css", "site.js"} {
		if len(a[name]) == 0 {
			t.Errorf("asset %s missing or empty", name)
		}
	}
	js := a["echarts.min.js"]
	if len(js) < 500_000 {
		t.Errorf("echarts.min.js is %d bytes: not the full build", len(js))
	}
	// Served as a file it cannot break out of anything, but the library must stay inlinable
	// (and an unexpected "</script" would mean a different file than the one reviewed).
	if bytes.Contains(bytes.ToLower(js), []byte("</script")) {
		t.Error("echarts.min.js contains </script")
	}
	if !bytes.Contains(js, []byte(`version="`+EchartsVersion+`"`)) {
		t.Errorf("echarts.min.js is not version %s", EchartsVersion)
	}
	if !bytes.Contains(a["echarts-LICENSE.txt"], []byte("Apache License")) ||
		!bytes.Contains(a["zrender-LICENSE.txt"], []byte("BSD 3-Clause")) {
		t.Error("licence files are not the expected ones")
	}
	// The pin: package.json and the lock file name the same version as the constant.
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	readJSON(t, "assets/package.json", &pkg)
	readJSON(t, "assets/package-lock.json", &lock)
	if pkg.Dependencies["echarts"] != EchartsVersion {
		t.Errorf("package.json pins echarts %q, want exactly %s", pkg.Dependencies["echarts"], EchartsVersion)
	}
	e := lock.Packages["node_modules/echarts"]
	if e.Version != EchartsVersion || !strings.HasPrefix(e.Integrity, "sha512-") {
		t.Errorf("lock file has echarts %q (%q)", e.Version, e.Integrity)
	}
	for _, name := range []string{"site.css", "site.js"} {
		if bytes.Contains(a[name], []byte("http://")) || bytes.Contains(a[name], []byte("https://")) {
			t.Errorf("%s refers to the network", name)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Ensure the path helpers give the published layout: <kind>/<label>/index.html and the
// workbook and events CSV beside it.
func TestPeriodPaths(t *testing.T) {
	p := Period{Kind: report.Weekly, Label: "2025-W40"}
	if p.PagePath() != "weekly/2025-W40/index.html" || p.WorkbookName() != "aispend-weekly-2025-W40.xlsx" ||
		p.EventsCSVName() != "aispend-weekly-2025-W40-events.csv.gz" {
		t.Errorf("paths %q %q %q", p.PagePath(), p.WorkbookName(), p.EventsCSVName())
	}
	if p.WorkbookPath() != "weekly/2025-W40/aispend-weekly-2025-W40.xlsx" || p.EventsCSVPath() != "weekly/2025-W40/aispend-weekly-2025-W40-events.csv.gz" ||
		p.File("report.json") != "weekly/2025-W40/report.json" || KindDir(report.Monthly) != "monthly/" {
		t.Errorf("paths %q %q %q", p.WorkbookPath(), p.EventsCSVPath(), p.File("report.json"))
	}
	if k, l, ok := ParsePagePath(p.PagePath()); !ok || k != p.Kind || l != p.Label {
		t.Errorf("ParsePagePath(%q) = %q %q %v", p.PagePath(), k, l, ok)
	}
	for _, key := range []string{"weekly/2025-W40/report.json", "hourly/2025-10-01/index.html", "daily/index.html", "daily/a/b/index.html", "index.html"} {
		if _, _, ok := ParsePagePath(key); ok {
			t.Errorf("ParsePagePath(%q) accepted a key that is not a period page", key)
		}
	}
}
