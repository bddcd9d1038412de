package artifact_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
)

// Ensures a batch run's report maps onto the digest with the same numbers the page shows.
func TestDigestFromReport(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Seoul")
	p := report.PeriodContaining(report.Daily, time.Date(2025, 6, 1, 12, 0, 0, 0, loc), loc)
	month := report.PeriodContaining(report.Monthly, p.Start, loc)
	totals := report.Totals{Requests: 10, Failures: 1, CacheHits: 4, Unpriced: 2, Cost: testkit.Dec("1234.5")}
	var services []report.Row
	for i := range 7 {
		services = append(services, report.Row{Key: "svc-" + string(rune('a'+i)), Totals: report.Totals{Requests: 1, Cost: testkit.Dec("100")}})
	}
	services = append(services, report.Row{Other: true, Totals: report.Totals{Requests: 3, Cost: testkit.Dec("534.5")}})
	st := report.Evaluate(report.Budget{Name: "team", Period: report.Monthly, Amount: testkit.Dec("1000")}, month, testkit.Dec("850"), p.End)
	rep := &report.Report{
		Period: p, Currency: "KRW", Totals: totals,
		Breakdowns: map[report.Dimension][]report.Row{
			report.ByService: services,
			report.ByUser:    {{Key: "", Totals: report.Totals{Requests: 10, Cost: testkit.Dec("1234.5")}}},
		},
		Budgets: []report.Status{st},
	}
	d := email.DigestOf(rep, nil, time.Time{}, "https://r.example.com/"+artifact.SitePeriod(p).PagePath(), "")
	if d.Period.Kind != "daily" || d.Period.Label != "2025-06-01" || d.TimeZone != "Asia/Seoul" || d.Currency != "KRW" {
		t.Errorf("period %+v, zone %q, currency %q", d.Period, d.TimeZone, d.Currency)
	}
	wantKPIs := email.KPIs{Cost: totals.Cost, Requests: 10, Failures: 1, CacheHits: 4, Unpriced: 2}
	if d.KPIs != wantKPIs || !d.KPIs.Cost.Equal(testkit.Dec("1234.5")) || d.KPIs.SuccessRate().String() != totals.SuccessRate().String() {
		t.Errorf("kpis %+v", d.KPIs)
	}
	if len(d.TopServices) != email.TopN || d.TopServices[0].Name != "svc-a" || len(d.TopModels) != 0 || d.TopUsers[0].Name != "(none)" {
		t.Errorf("tops %+v / %+v / %+v", d.TopServices, d.TopModels, d.TopUsers)
	}
	if len(d.Budgets) != 1 {
		t.Fatalf("budgets %+v", d.Budgets)
	}
	b := d.Budgets[0]
	if b.Name != "team" || b.State != email.StateWarning || b.Period != "monthly 2025-06" || !b.Percent.Equal(testkit.Dec("85")) || !b.ResetsAt.Equal(month.End) {
		t.Errorf("budget %+v", b)
	}
	e, err := email.DigestEmail(d, "aispend@example.com", []string{"ops@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if text := e.Text; !strings.Contains(string(text), "team (monthly 2025-06): WARNING, ₩850 of ₩1,000 (85.0 %), as of 1 Jun 2025, 24:00, resets Tue 1 Jul 2025 00:00") {
		t.Errorf("rendered:\n%s", text)
	}
}
