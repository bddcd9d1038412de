package schedule_test

import (
	"testing"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/schedule"
)

// Ensures scheduled runs are labelled with the period that just ended in the configured time
// zone (budget checks and retention with the current day).
func TestLabel(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		now  string
		loc  *time.Location
		kind string
		want string
	}{
		{"2025-09-30T20:00:00Z", seoul, "daily", "2025-09-30"}, // 05:00 on 1 October in Seoul
		{"2025-09-30T20:00:00Z", time.UTC, "daily", "2025-09-29"},
		{"2025-10-01T00:30:00Z", seoul, "weekly", "2025-W39"}, // a Wednesday
		{"2025-10-06T00:30:00Z", seoul, "weekly", "2025-W40"}, // a Monday
		{"2025-10-05T10:00:00Z", seoul, "weekly", "2025-W39"}, // a Sunday
		{"2025-01-01T00:30:00Z", seoul, "weekly", "2024-W52"},
		{"2025-01-01T00:30:00Z", seoul, "monthly", "2024-12"},
		{"2025-03-31T00:30:00Z", seoul, "monthly", "2025-02"},
		{"2025-10-01T00:30:00Z", seoul, "budget-check", "2025-10-01"},
		{"2025-09-30T20:00:00Z", seoul, "retention", "2025-10-01"},
	}
	for _, c := range cases {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := schedule.Label(c.kind, now, c.loc); got != c.want {
			t.Errorf("Label(%s, %s in %s) = %s, want %s", c.kind, c.now, c.loc, got, c.want)
		}
	}
}

// Ensures each scheduled job runs the steps it owns: report jobs statistics and alerts (their
// outputs follow statistics), the budget check alerts only, retention alone; and that an
// unknown job is refused.
func TestWorkSteps(t *testing.T) {
	now := time.Date(2025, 10, 1, 0, 30, 0, 0, time.UTC)
	want := map[string]report.Steps{
		schedule.Daily: report.StepStatistics | report.StepAlerts, schedule.Weekly: report.StepStatistics | report.StepAlerts,
		schedule.Monthly: report.StepStatistics | report.StepAlerts, schedule.BudgetCheck: report.StepAlerts,
		schedule.Retention: report.StepRetention,
	}
	for _, j := range schedule.BatchJobs {
		_, steps, err := schedule.Work(j.Name, now, time.UTC)
		if err != nil || steps != want[j.Name] {
			t.Errorf("Work(%s) = %v, %v; want %v", j.Name, steps, err, want[j.Name])
		}
		if err := schedule.CheckCron(j.DefaultCron); err != nil {
			t.Errorf("%s: default cron %q: %v", j.Name, j.DefaultCron, err)
		}
	}
	if len(want) != len(schedule.BatchJobs) {
		t.Errorf("%d jobs, want %d", len(schedule.BatchJobs), len(want))
	}
	if _, _, err := schedule.Work("hourly", now, time.UTC); err == nil {
		t.Error("unknown job accepted")
	}
}
