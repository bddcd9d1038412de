package report

import (
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
)

// Ensures the runway is when the remaining budget is spent at the slower of the two windows'
// paces, only while that is before the period's end, and that a budget with burn_rate alerts
// once at the runway's severity: CRITICAL within BurnCriticalWithin, WARNING after it.
func TestRunwayAndBurnRateBreach(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Seoul")
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, loc)
	day := PeriodContaining(Daily, now, loc) // ends at midnight: 12 hours left
	b := Budget{Name: "d", Period: Daily, Amount: testkit.Dec("1000"), BurnRate: true}
	tests := []struct {
		name        string
		spent       string
		short, long string
		at          time.Time
		want        string // runway in loc, "" none
		severity    Severity
	}{
		// 600 left; 100 an hour in both windows: 6 hours → 18:00, CRITICAL (within 6 h).
		{"steady fast pace", "400", "100", "600", now, "18:00:00", Critical},
		// The short window alone is fast (300/h) but the long one says 50/h: 12 h → the period's
		// end, which is not before it.
		{"one busy hour", "400", "300", "300", now, "", ""},
		// 600 at max(600×3600/200, 600×21600/900) = 14,400 s → 16:00: the slower pace counts.
		{"the slower window counts", "400", "200", "900", now, "16:00:00", Critical},
		// 600 at 60/h in both → 10 h → 22:00, WARNING (more than 6 h away).
		{"warning", "400", "60", "360", now, "22:00:00", Warning},
		// 600 at 50/h → 12 h: exactly the period's end, not before it.
		{"exactly at the end", "400", "50", "300", now, "", ""},
		{"nothing in the last hour", "400", "0", "600", now, "", ""},
		{"already exceeded", "1000", "500", "3000", now, "", ""},
		{"period over", "400", "100", "600", day.End, "", ""},
		// 1 left at 7 per hour: 514.28 s, rounded up to the second.
		{"to the second", "999", "7", "42", now, "12:08:35", Critical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Evaluate(b, day, testkit.Dec(tc.spent), tc.at).withPace(Pace{Short: testkit.Dec(tc.short), Long: testkit.Dec(tc.long)})
			got := ""
			if st.HasRunway {
				got = st.Runway.Format("15:04:05")
				if st.Runway.Location() != loc {
					t.Errorf("runway in %v, want %v", st.Runway.Location(), loc)
				}
			}
			if got != tc.want {
				t.Fatalf("runway %q, want %q", got, tc.want)
			}
			var burns []Breach
			for _, br := range st.Breaches {
				if br.Kind == BurnRate {
					burns = append(burns, br)
				}
			}
			if tc.want == "" {
				if len(burns) > 0 {
					t.Fatalf("burn-rate breach without a runway: %+v", burns)
				}
				return
			}
			if len(burns) != 1 || burns[0].Severity != tc.severity || burns[0].Threshold != BurnThreshold(tc.severity) {
				t.Fatalf("burn-rate breaches %+v, want one %s", burns, tc.severity)
			}
		})
	}
	// Given a pace, a budget without burn_rate (its statuses read none: evaluateAll) or an
	// envelope makes no burn-rate alert.
	for _, nb := range []Budget{{Name: "d", Period: Daily, Amount: testkit.Dec("1000")},
		{Name: "d", Period: Daily, Amount: testkit.Dec("1000"), BurnRate: true, Per: Per{Field: PerUserID}}} {
		st := Evaluate(nb, day, testkit.Dec("400"), now).withPace(Pace{Short: testkit.Dec("100"), Long: testkit.Dec("600")})
		if !st.HasRunway {
			t.Error("no runway")
		}
		for _, br := range st.Breaches {
			if br.Kind == BurnRate {
				t.Errorf("burn-rate breach of %+v", nb)
			}
		}
	}
}
