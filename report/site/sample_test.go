package site

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
)

// Hostile strings from events; each must show as text wherever it appears.
const (
	xssScript = `</script><script>document.title='pwned'</script>`
	xssFunc   = `__f__alert(1)__f__`
	xssImg    = `<img src=x onerror="document.body.dataset.pwned=1">`
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load time zone: %v", err)
	}
	return loc
}

// samplePeriod is a realistic daily page: the one in the README screenshot.
func samplePeriod(t testing.TB) PeriodPage {
	loc := berlin(t)
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, loc)
	p := PeriodPage{
		Title:       "AI spend report",
		Period:      Period{Kind: report.Daily, Label: "2025-10-01", Start: start, End: start.AddDate(0, 0, 1)},
		Currency:    "USD",
		Location:    loc,
		GeneratedAt: time.Date(2025, 10, 2, 6, 0, 0, 0, loc),
		KPIs: KPIs{
			TotalCost:         testkit.Dec("1284.5632"),
			AvgCostPerRequest: testkit.Dec("0.0271"),
			Requests:          48211,
			Successes:         47604,
			CacheHits:         17355,
			Unpriced:          38,
		},
		Latency: []ServiceLatency{
			{Service: "support-chat", Samples: 21000, P50: 820 * time.Millisecond, P95: 2310 * time.Millisecond},
			{Service: "doc-search", Samples: 15000, P50: 240 * time.Millisecond, P95: 610 * time.Millisecond},
			{Service: "code-review", Samples: 6000, P50: 3400 * time.Millisecond, P95: 9100 * time.Millisecond},
			{Service: "translation", Samples: 4000, P50: 510 * time.Millisecond, P95: 1200 * time.Millisecond},
			{Service: "batch-summaries", Samples: 2000, P50: 1900 * time.Millisecond, P95: 4700 * time.Millisecond},
		},
		Budgets: []BudgetCard{
			{Name: "daily-total", Window: report.Daily, Spent: testkit.Dec("1284.5632"), Limit: testkit.Dec("1500"), Remaining: testkit.Dec("215.4368"), State: StateWarning,
				ResetsAt: start.AddDate(0, 0, 1)},
			{Name: "monthly-total", Window: report.Monthly, Spent: testkit.Dec("1284.5632"), Limit: testkit.Dec("40000"), Remaining: testkit.Dec("38715.4368"), State: StateOK,
				ResetsAt: start.AddDate(0, 1, 0)},
			{Name: "support-chat", Scope: "service = support-chat", Window: report.Daily, Spent: testkit.Dec("612.40"), Limit: testkit.Dec("600"),
				Over: testkit.Dec("12.40"), State: StateExceeded, ResetsAt: start.AddDate(0, 0, 1)},
			{Name: "code-review-weekly", Scope: "service = code-review", Window: report.Weekly, Spent: testkit.Dec("2210.75"),
				Limit: testkit.Dec("2500"), Remaining: testkit.Dec("289.25"), State: StateCritical, ResetsAt: time.Date(2025, 10, 6, 0, 0, 0, 0, loc)},
		},
		Envelopes: []EnvelopeCard{{Budget: "per-user-daily", Per: "user_id", Noun: "user", Count: 1204, Exceeded: 1, Entities: []EntityLine{
			{Entity: "u-20871 (ana.lopez)", Spent: testkit.Dec("61.20"), Limit: testkit.Dec("50"), Over: testkit.Dec("11.20"),
				Percent: testkit.Dec("122.4"), State: StateExceeded},
			{Entity: "u-10442", Spent: testkit.Dec("48.10"), Limit: testkit.Dec("50"), Remaining: testkit.Dec("1.90"), Percent: testkit.Dec("96.2"), State: StateCritical},
		}}},
		Services: []CostShare{
			{Name: "support-chat", Cost: testkit.Dec("612.40"), Requests: 21034},
			{Name: "code-review", Cost: testkit.Dec("301.17"), Requests: 6012},
			{Name: "doc-search", Cost: testkit.Dec("188.90"), Requests: 15120},
			{Name: "batch-summaries", Cost: testkit.Dec("121.33"), Requests: 2011},
			{Name: "translation", Cost: testkit.Dec("60.7632"), Requests: 4034},
		},
		Models: []CostShare{
			{Name: "gpt-4.1", Cost: testkit.Dec("498.12"), Requests: 9021},
			{Name: "claude-sonnet-4-5", Cost: testkit.Dec("377.40"), Requests: 7310},
			{Name: "gemini-2.5-pro", Cost: testkit.Dec("201.05"), Requests: 5020},
			{Name: "gpt-4.1-mini", Cost: testkit.Dec("98.44"), Requests: 14021},
			{Name: "claude-haiku-4-5", Cost: testkit.Dec("61.20"), Requests: 8032},
			{Name: "text-embedding-3-large", Cost: testkit.Dec("48.3532"), Requests: 4807},
		},
		TopUsers: []Spender{
			{ID: "u-10442 (jana.novak)", Cost: testkit.Dec("141.20"), Requests: 2210},
			{ID: "u-20917 (m.okafor)", Cost: testkit.Dec("118.05"), Requests: 1904},
			{ID: "svc-nightly-batch", Cost: testkit.Dec("96.77"), Requests: 1830},
			{ID: "u-31155 (l.chen)", Cost: testkit.Dec("71.90"), Requests: 1322},
			{ID: "u-08813 (a.silva)", Cost: testkit.Dec("55.13"), Requests: 1011},
		},
		TopOrgs: []Spender{
			{ID: "acme-support", Cost: testkit.Dec("640.11"), Requests: 22110},
			{ID: "acme-engineering", Cost: testkit.Dec("402.96"), Requests: 16021},
			{ID: "acme-legal", Cost: testkit.Dec("140.30"), Requests: 5230},
			{ID: "acme-marketing", Cost: testkit.Dec("101.1932"), Requests: 4830},
		},
		Alerts: []Alert{
			{At: time.Date(2025, 10, 1, 14, 5, 0, 0, loc), Budget: "support-chat", Threshold: 80, Severity: StateWarning,
				Kind: AlertActual, Status: "sent", Amount: testkit.Dec("486.00")},
			{At: time.Date(2025, 10, 1, 18, 5, 0, 0, loc), Budget: "support-chat", Threshold: 100, Severity: StateExceeded,
				Kind: AlertActual, Status: "sent", Amount: testkit.Dec("603.90")},
			{At: time.Date(2025, 10, 1, 11, 5, 0, 0, loc), Budget: "daily-total", Threshold: 95, Severity: StateCritical,
				Kind: AlertForecast, Status: "sent", Amount: testkit.Dec("1611.00")},
			{At: time.Date(2025, 10, 1, 20, 5, 0, 0, loc), Budget: "daily-total", Threshold: 80, Severity: StateWarning,
				Kind: AlertActual, Status: "pending"},
		},
		Workbook:  "aispend-daily-2025-10-01.xlsx",
		EventsCSV: "aispend-daily-2025-10-01-events.csv.gz",
	}
	// 30 days ending with the period, a weekly rhythm and a rise.
	for i := 29; i >= 0; i-- {
		day := start.AddDate(0, 0, -i)
		base := 800 + 14*(29-i)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			base /= 2
		}
		cost := testkit.Dec(fmt.Sprintf("%d.%02d", base+(i*37)%90, (i*53)%100))
		if i == 0 {
			cost = p.KPIs.TotalCost
		}
		p.DailyCost = append(p.DailyCost, DayCost{Day: day.Add(12 * time.Hour), Cost: cost})
	}
	return p
}

// hostilePeriod puts the hostile strings into every field that comes from events.
func hostilePeriod(t testing.TB) PeriodPage {
	p := samplePeriod(t)
	p.Services[0].Name = xssScript
	p.Services[1].Name = xssFunc
	p.Services[2].Name = xssImg
	p.Latency[0].Service = xssScript
	p.Models[0].Name = xssScript
	p.Models[1].Name = xssFunc
	p.Models[2].Name = xssImg
	p.TopUsers[0].ID = xssScript
	p.TopUsers[1].ID = xssFunc
	p.TopUsers[2].ID = xssImg
	p.TopOrgs[0].ID = xssFunc
	p.TopOrgs[1].ID = xssImg
	p.Budgets[0].Name = xssImg
	p.Budgets[1].Scope = "user_id = " + xssScript
	p.Alerts[0].Budget = xssScript
	p.Alerts[1].Status = xssImg
	p.Envelopes[0].Entities[0].Entity = xssScript
	p.Envelopes[0].Budget = xssImg
	return p
}

func sampleIndex(t testing.TB) IndexPage {
	p := samplePeriod(t)
	idx := IndexPage{Currency: p.Currency, Location: p.Location, GeneratedAt: p.GeneratedAt, Budgets: p.Budgets}
	loc := p.Location
	for d := 0; d < 5; d++ {
		start := time.Date(2025, 9, 27+d, 0, 0, 0, 0, loc)
		idx.Reports = append(idx.Reports, PublishedReport{
			Period:   Period{Kind: report.Daily, Label: start.Format("2006-01-02"), Start: start, End: start.AddDate(0, 0, 1)},
			Workbook: "aispend-daily-" + start.Format("2006-01-02") + ".xlsx",
		})
	}
	for _, w := range []struct {
		label string
		start time.Time
	}{{"2025-W39", time.Date(2025, 9, 22, 0, 0, 0, 0, loc)}, {"2025-W40", time.Date(2025, 9, 29, 0, 0, 0, 0, loc)}} {
		idx.Reports = append(idx.Reports, PublishedReport{Period: Period{Kind: report.Weekly, Label: w.label, Start: w.start, End: w.start.AddDate(0, 0, 7)}})
	}
	sep := time.Date(2025, 9, 1, 0, 0, 0, 0, loc)
	idx.Reports = append(idx.Reports, PublishedReport{Period: Period{Kind: report.Monthly, Label: "2025-09", Start: sep, End: sep.AddDate(0, 1, 0)},
		Workbook: "aispend-monthly-2025-09.xlsx"})
	return idx
}

// writeSite lays out a site like the publisher does: assets/, the period page, index.html.
func writeSite(t testing.TB, dir string, page PeriodPage, index IndexPage) (pagePath, indexPath string) {
	t.Helper()
	for name, data := range Assets() {
		write(t, filepath.Join(dir, "assets", name), data)
	}
	pagePath = filepath.Join(dir, filepath.FromSlash(page.Period.PagePath()))
	f := create(t, pagePath)
	if err := writePeriod(f, page); err != nil {
		t.Fatal(err)
	}
	closeFile(t, f)
	indexPath = filepath.Join(dir, "index.html")
	f = create(t, indexPath)
	if err := RenderIndex(f, index); err != nil {
		t.Fatal(err)
	}
	closeFile(t, f)
	return pagePath, indexPath
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func create(t testing.TB, path string) *os.File {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func closeFile(t testing.TB, f *os.File) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
