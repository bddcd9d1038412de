package report

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func decs(vs ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(vs))
	for i, v := range vs {
		out[i] = decimal.RequireFromString(v)
	}
	return out
}

// Ensures the rule: far above the median (robust deviations and increase) and worth min_impact,
// each condition alone refusing.
func TestAnomalyJudge(t *testing.T) {
	c := &AnomalyConfig{MinImpact: decimal.NewFromInt(100)}
	cases := []struct {
		name    string
		actual  string
		samples []decimal.Decimal
		usual   string
		hit     bool
	}{
		{"spike", "591", decs("170", "179", "185", "190"), "182", true},
		{"below min_impact", "90", decs("0", "0", "0"), "0", false},
		{"not doubled", "900", decs("500", "505", "510", "520"), "507.5", false},
		{"noisy scope", "1000", decs("100", "400", "150", "450"), "275", false}, // MAD 150: 5 × 1.4826 × 150 > 725
		{"from nothing", "150", decs("0", "0", "0"), "0", true},
		{"one earlier incident does not move the usual", "600", decs("100", "100", "5000", "110"), "105", true},
	}
	for _, tc := range cases {
		usual, hit := c.Judge(decimal.RequireFromString(tc.actual), tc.samples)
		if !usual.Equal(decimal.RequireFromString(tc.usual)) || hit != tc.hit {
			t.Errorf("%s: usual %s hit %v, want %s %v", tc.name, usual, hit, tc.usual, tc.hit)
		}
	}
}

// Ensures the baseline is the same weekday and hour of the previous 4 weeks, falls back to the
// same hour of the previous 7 days while fewer than 3 of those weeks hold data, and judges
// nothing with less; and that windows keep their wall-clock hour across a DST change.
func TestAnomalyBaseline(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 10, 15, 5, 0, 0, berlin) // Tuesday
	ws := LastWindows(now, berlin, []WindowKind{WindowHour, WindowDay})
	h, d := ws[0], ws[1]
	if h.Start.Hour() != 14 || h.End.Sub(h.Start) != time.Hour || d.Start.Day() != 9 || d.End.Day() != 10 {
		t.Fatalf("windows %v", ws)
	}
	kind, base, ok := h.Baseline(now.AddDate(0, 0, -60))
	if !ok || kind != BaselineWeekday || len(base) != 4 {
		t.Fatalf("baseline %s %d %v", kind, len(base), ok)
	}
	// Summer time ended on Sunday 25 October 2026: the weekday windows before it still start at
	// 14:00 local.
	for _, b := range base {
		if b.Start.Hour() != 14 || b.Start.Weekday() != time.Tuesday {
			t.Errorf("weekday window %s", b.Start)
		}
	}
	kind, base, ok = h.Baseline(now.AddDate(0, 0, -15))
	if !ok || kind != BaselineRecent || len(base) != 7 || base[0].Start.Day() != 9 || base[0].Start.Hour() != 14 {
		t.Errorf("young data: %s %d %v", kind, len(base), ok)
	}
	if _, _, ok = h.Baseline(now.AddDate(0, 0, -2)); ok {
		t.Error("judged with two days of data")
	}
	if n := len(d.shifted(15).Hours()); n != 25 { // Sunday 25 October 2026: summer time ends, 25 hours
		t.Errorf("day of the DST change has %d hours", n)
	}
}

// Ensures the explanation names the driver of the excess (its spend above its own usual) and the
// usual level's window, as the example does.
func TestAnomalyExplain(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	start := time.Date(2026, 12, 15, 14, 0, 0, 0, seoul)
	a := Anomaly{Scope: "service", Value: "QA_CHAT", Window: Window{Kind: WindowHour, Start: start, End: start.Add(time.Hour)},
		Actual: decimal.NewFromInt(591), Usual: decimal.NewFromInt(179), Baseline: BaselineWeekday, Samples: 4}
	ds := func(cost string) []DriverSpend {
		return []DriverSpend{{UserID: "u-17", Model: "claude-opus-4-1", Service: "QA_CHAT", Cost: decimal.RequireFromString(cost)},
			{UserID: "u-2", Model: "gpt-4o", Service: "QA_CHAT", Cost: decimal.NewFromInt(100)}}
	}
	// u-17 usually spends 50 (median of 40, 50, 50, 60), now 371.36: 321.36 of the 412 excess.
	a.ExplainDrivers(ds("371.36"), [][]DriverSpend{ds("40"), ds("50"), ds("50"), ds("60")})
	want := "+₩412 (+230.1 %) against the usual ₩179 for Tuesdays 14:00; 78.0 % of it from user u-17 on claude-opus-4-1 in QA_CHAT"
	if got := a.Explain("KRW", seoul); got != want {
		t.Errorf("explain %q\nwant    %q", got, want)
	}
	if len(a.Drivers) != 1 {
		t.Errorf("drivers %+v: u-2 spent as usual and made none of the excess", a.Drivers)
	}
	a.Baseline, a.Samples = BaselineRecent, 7
	if !strings.Contains(a.Explain("KRW", seoul), "for 14:00 on the previous 7 days") {
		t.Error(a.Explain("KRW", seoul))
	}
}

// Ensures an anomaly goes to the anomaly block's channels and to the anomaly routes of the
// budgets whose scope holds it, never to an unknown channel.
func TestAnomalyChannels(t *testing.T) {
	j := &Job{Anomaly: &AnomalyConfig{}, Channels: map[string]Notifier{"ops": nil, "qa-slack": nil},
		Budgets: []Budget{
			{Name: "all", Routes: Routes{Anomaly: []string{"ops"}}},
			{Name: "qa", Scope: Scope{Service: "QA_CHAT"}, Routes: Routes{Anomaly: []string{"qa-slack", "gone"}}},
		}}
	got := func(scope, value string) string {
		return strings.Join(j.anomalyChannels(Anomaly{Scope: scope, Value: value}), ",")
	}
	if g := got("service", "QA_CHAT"); g != "email,ops,qa-slack" {
		t.Errorf("QA_CHAT: %s", g)
	}
	if g := got("user_id", "u-17"); g != "email,ops" {
		t.Errorf("u-17: %s", g)
	}
	j.Anomaly.Channels = []string{}
	if g := got("model", "gpt-4o"); g != "ops" {
		t.Errorf("channels: [] leaves the budgets' routes only: %s", g)
	}
}
