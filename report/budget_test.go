package report

import (
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit"
)

func TestEvaluateThresholds(t *testing.T) {
	day := PeriodContaining(Daily, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	after := day.End.Add(time.Hour) // period over: no forecast
	b := Budget{Name: "daily-total", Period: Daily, Amount: testkit.Dec("50000")}
	tests := []struct {
		name       string
		budget     Budget
		spent      string
		wantState  State
		wantPct    string
		thresholds []int
	}{
		{"nothing spent", b, "0", StateOK, "0", nil},
		{"just below 50 %", b, "24999.99", StateOK, "49.99", nil},
		{"exactly 50 %", b, "25000", StateInfo, "50", []int{50}},
		{"just below 80 %: 79.99998 % is not 80 %", b, "39999.99", StateInfo, "79.99", []int{50}},
		{"exactly 80.00 %", b, "40000.00", StateWarning, "80", []int{50, 80}},
		{"exactly 95 %", b, "47500", StateCritical, "95", []int{50, 80, 95}},
		{"all at once", b, "49999", StateCritical, "99.99", []int{50, 80, 95}},
		{"exactly the amount", b, "50000", StateExceeded, "100", []int{50, 80, 95}},
		{"over the amount", b, "75000.5", StateExceeded, "150", []int{50, 80, 95}},
		{"custom thresholds, unsorted", Budget{Name: "x", Period: Daily, Amount: testkit.Dec("100"), Thresholds: []int{90, 25}}, "30", StateInfo, "30", []int{25}},
		{"tiny amount exact", Budget{Name: "x", Period: Daily, Amount: testkit.Dec("0.03")}, "0.024", StateWarning, "80", []int{50, 80}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Evaluate(tc.budget, day, testkit.Dec(tc.spent), after)
			if st.State != tc.wantState {
				t.Errorf("state %s; want %s", st.State, tc.wantState)
			}
			if !st.Percent.Equal(testkit.Dec(tc.wantPct)) {
				t.Errorf("percent %s; want %s", st.Percent, tc.wantPct)
			}
			var got []int
			for _, br := range st.Breaches {
				if br.Kind != Actual || !br.PeriodStart.Equal(day.Start) || br.Budget != tc.budget.Name {
					t.Errorf("breach %+v", br)
				}
				if br.Severity != SeverityOf(br.Threshold) {
					t.Errorf("severity %s for %d", br.Severity, br.Threshold)
				}
				got = append(got, br.Threshold)
			}
			if !slices.Equal(got, tc.thresholds) {
				t.Errorf("thresholds crossed %v; want %v", got, tc.thresholds)
			}
			wantRemaining := decimal.Max(tc.budget.Amount.Sub(testkit.Dec(tc.spent)), decimal.Zero)
			if !st.Remaining.Equal(wantRemaining) {
				t.Errorf("remaining %s; want %s", st.Remaining, wantRemaining)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for th, want := range map[int]Severity{50: Info, 79: Info, 80: Warning, 94: Warning, 95: Critical, 100: Critical, 150: Critical} {
		if got := SeverityOf(th); got != want {
			t.Errorf("SeverityOf(%d) = %s; want %s", th, got, want)
		}
	}
}

func TestForecast(t *testing.T) {
	day := PeriodContaining(Daily, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	month := PeriodContaining(Monthly, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	b := Budget{Name: "m", Period: Monthly, Amount: testkit.Dec("1000"), Forecast: true}
	tests := []struct {
		name         string
		p            Period
		budget       Budget
		spent        string
		now          time.Time
		wantOK       bool
		wantProj     string
		wantForecast bool
	}{
		{"too early in the day (5 h)", day, b, "100", day.Start.Add(5 * time.Hour), false, "0", false},
		{"a quarter of the day", day, b, "300", day.Start.Add(6 * time.Hour), true, "1200", true},
		{"projection below amount", day, b, "200", day.Start.Add(12 * time.Hour), true, "400", false},
		{"too early in the month (7 days of 31)", month, b, "500", month.Start.Add(7 * 24 * time.Hour), false, "0", false},
		{"8 of 31 days", month, b, "400", month.Start.Add(8 * 24 * time.Hour), true, "1550", true},
		{"projection exactly the amount is not over it", day, b, "500", day.Start.Add(12 * time.Hour), true, "1000", false},
		{"no forecast when not asked", day, Budget{Name: "m", Period: Daily, Amount: testkit.Dec("1000")}, "300", day.Start.Add(6 * time.Hour), true, "1200", false},
		{"no forecast alert once exceeded", day, b, "1000", day.Start.Add(12 * time.Hour), true, "2000", false},
		{"period over: projection is the spend", day, b, "700", day.End, true, "700", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proj, ok := Project(tc.p, testkit.Dec(tc.spent), tc.now)
			if ok != tc.wantOK || !proj.Equal(testkit.Dec(tc.wantProj)) {
				t.Errorf("Project = %s, %v; want %s, %v", proj, ok, tc.wantProj, tc.wantOK)
			}
			st := Evaluate(tc.budget, tc.p, testkit.Dec(tc.spent), tc.now)
			gotForecast := false
			for _, br := range st.Breaches {
				if br.Kind == Forecast {
					gotForecast = true
					if br.Threshold != ForecastThreshold {
						t.Errorf("forecast threshold %d", br.Threshold)
					}
				}
			}
			if gotForecast != tc.wantForecast {
				t.Errorf("forecast breach %v; want %v", gotForecast, tc.wantForecast)
			}
		})
	}
}

// Ensures a status's one stated forecast (Projection) is taken at its AsOf: the alerts'
// projection once allowed, before that the run rate marked as an estimate, nothing before the
// period starts.
func TestProjectionAsOf(t *testing.T) {
	month := PeriodContaining(Monthly, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	b := Budget{Name: "m", Period: Monthly, Amount: testkit.Dec("1000")}
	for _, tc := range []struct {
		name     string
		spent    string
		asOf     time.Time
		ok       bool
		want     string
		estimate bool
	}{
		{"one day of 31: the run rate, an estimate", "46", month.Start.AddDate(0, 0, 1), true, "1426", true},
		{"8 of 31 days: the alerts' projection", "400", month.Start.AddDate(0, 0, 8), true, "1550", false},
		{"over: the spend", "700", month.End, true, "700", false},
		{"at the start: none", "0", month.Start, false, "0", false},
	} {
		pr, ok := Evaluate(b, month, testkit.Dec(tc.spent), tc.asOf).Projection()
		if ok != tc.ok || !pr.Amount.Equal(testkit.Dec(tc.want)) || pr.Estimate != tc.estimate {
			t.Errorf("%s: Projection = %+v, %v; want %s, estimate %v, %v", tc.name, pr, ok, tc.want, tc.estimate, tc.ok)
		}
	}
}

// Ensures every percentage is truncated toward zero to two decimals, never rounded up.
func TestPercentTruncates(t *testing.T) {
	for _, tc := range []struct {
		got  decimal.Decimal
		want string
	}{
		{Percent(2, 3), "66.66"}, {Percent(99996, 100000), "99.99"}, {Percent(1, 0), "0"},
		{PercentOf(testkit.Dec("79.996"), testkit.Dec("100")), "79.99"}, {PercentOf(testkit.Dec("-40.755"), testkit.Dec("100")), "-40.75"},
	} {
		if !tc.got.Equal(testkit.Dec(tc.want)) {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestBreachKeyAndMessageID(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, seoul)
	b := Breach{Budget: "daily-total", PeriodStart: start, Threshold: 80, Kind: Actual}
	if b.Key() != "daily-total|2025-10-01T00:00:00+09:00|80|actual" {
		t.Errorf("key %s", b.Key())
	}
	const inst = "8c1e6f2a-0d4b-4a51-9b7e-2f3c5d6e7a80"
	same := b
	same.PeriodStart = start.UTC()
	if b.MessageID(inst, "example.com") != same.MessageID(inst, "example.com") {
		t.Error("message id depends on the time zone of the same instant")
	}
	other := b
	other.Threshold = 95
	if b.MessageID(inst, "example.com") == other.MessageID(inst, "example.com") {
		t.Error("two keys share a message id")
	}
	if b.MessageID(inst, "example.com") == b.MessageID("0f9a3b7c-5e21-4d8a-a6b4-91c2d3e4f5a6", "example.com") {
		t.Error("two installations share the message id of the same breach")
	}
	if id := b.MessageID(inst, "example.com"); id[0] != '<' || id[len(id)-13:] != "@example.com>" {
		t.Errorf("message id %s", id)
	}
}

func TestParseScopeAndValidate(t *testing.T) {
	s, err := ParseScope(map[string]string{"service": "QA_CHAT", "tag": "team=search"})
	if err != nil || s.Service != "QA_CHAT" || s.TagKey != "team" || s.TagValue != "search" {
		t.Fatalf("ParseScope = %+v, %v", s, err)
	}
	if _, err := ParseScope(map[string]string{"colour": "red"}); err == nil {
		t.Error("unknown filter accepted")
	}
	if _, err := ParseScope(map[string]string{"tag": "novalue"}); err == nil {
		t.Error("tag without = accepted")
	}
	bad := Budget{Name: "", Period: "hourly", Amount: testkit.Dec("-1"), Thresholds: []int{0, 80, 80}}
	if err := bad.Validate(); err == nil {
		t.Error("bad budget accepted")
	}
	if err := (Budget{Name: "ok", Period: Daily, Amount: testkit.Dec("1")}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestHistogramPercentile(t *testing.T) {
	var h Histogram
	if h.Percentile(0.5) != 0 {
		t.Error("empty histogram")
	}
	var durations []int64
	for range 98 {
		durations = append(durations, 4)
	}
	h = histogramOf(append(durations, 0, 10)...)
	// 4 ms is bucket 129, [4, 4.04) → 4; 10 ms is bucket 213, [9.93, 10.04) → 10
	if got := h.Percentile(0.5); got != 4 {
		t.Errorf("p50 %d", got)
	}
	if got := h.Percentile(0.995); got != 10 {
		t.Errorf("p99.5 %d", got)
	}
	if got := h.Percentile(0.01); got != 0 {
		t.Errorf("p1 %d", got)
	}
	if b := HistogramBucket(10); b != 213 || len(h) != 214 {
		t.Errorf("10 ms in bucket %d, histogram of %d buckets", b, len(h))
	}
	m := h.Merge(Histogram{0, 2})
	if m.Count() != 102 || h.Count() != 100 {
		t.Errorf("merge counts %d %d", m.Count(), h.Count())
	}
}

// histogramOf is the histogram of the given durations (ms).
func histogramOf(ms ...int64) Histogram {
	var h Histogram
	for _, v := range ms {
		b := HistogramBucket(v)
		for b >= len(h) {
			h = append(h, 0)
		}
		h[b]++
	}
	return h
}
