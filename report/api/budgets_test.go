package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures the body of GET /v1/budgets stays the same bytes (clients parse it; collect/openapi.json
// states it), and that report.json states each budget exactly as the endpoint does.
func TestBudgetsResponseJSON(t *testing.T) {
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, seoul)
	d := report.Budget{Name: "d", Period: report.Daily, Amount: decimal.RequireFromString("100"), Forecast: true,
		Thresholds: []int{50, 80}, Scope: report.Scope{Service: "QA_CHAT", TagKey: "team", TagValue: "x"}}
	m := report.Budget{Name: "m", Period: report.Monthly, Amount: decimal.RequireFromString("10000.5")}
	s1 := report.Evaluate(d, report.PeriodContaining(report.Daily, now, seoul), decimal.RequireFromString("60.125"), now)
	s1.Unpriced = 3
	// ₩39.875 left at ₩20 an hour (₩120 in 6 hours; the last hour's ₩30 is faster): it runs
	// out 7,177.5 s after noon, rounded up to the second: 13:59:38 KST, 04:59:38 UTC.
	s1.Runway, s1.HasRunway = report.Runway(s1, report.Pace{Short: decimal.NewFromInt(30), Long: decimal.NewFromInt(120)})
	s2 := report.Evaluate(m, report.PeriodContaining(report.Monthly, now, seoul), decimal.Zero, now)

	for _, tc := range []struct {
		name string
		sts  []report.Status
		want string
	}{
		{"forecast, scope, default thresholds", []report.Status{s1, s2}, `{"as_of":"2026-10-01T12:00:00+09:00","currency":"KRW","budgets":[` +
			`{"name":"d","period":"daily","period_label":"2026-10-01","period_start":"2026-10-01T00:00:00+09:00","period_end":"2026-10-02T00:00:00+09:00","scope":{"service":"QA_CHAT","tag_key":"team","tag_value":"x"},"spent":"60.125","limit":"100","remaining":"39.875","percent":"60.12","state":"info","thresholds":[50,80],"unpriced_events":3,"forecast":{"projected":"120.25","exceeds_limit":true},"runway_at":"2026-10-01T04:59:38Z"},` +
			`{"name":"m","period":"monthly","period_label":"2026-10","period_start":"2026-10-01T00:00:00+09:00","period_end":"2026-11-01T00:00:00+09:00","scope":{},"spent":"0","limit":"10000.5","remaining":"10000.5","percent":"0.00","state":"ok","thresholds":[50,80,95],"unpriced_events":0,"forecast":null,"runway_at":null}]}`},
		{"no budget: an empty list, not null", nil, `{"as_of":"2026-10-01T12:00:00+09:00","currency":"KRW","budgets":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := BudgetsOf(now, "KRW", tc.sts)
			got, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("GET /v1/budgets\n got %s\nwant %s", got, tc.want)
			}
			// report.json of a report holding the same statuses states the same list.
			rep := &report.Report{Period: report.PeriodContaining(report.Daily, now, seoul), Budgets: tc.sts}
			doc, _ := json.Marshal(DocumentOf(rep, nil, now).Budgets)
			api, _ := json.Marshal(resp.Budgets)
			if string(doc) != string(api) {
				t.Errorf("report.json states %s\nGET /v1/budgets %s", doc, api)
			}
		})
	}
}
