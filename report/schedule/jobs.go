package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/runlog"
)

// The jobs of `aispend schedule`, by name: the name is also the kind of their runs in the runs
// table.
const (
	BudgetCheck = "budget-check"
	Daily       = "daily"
	Weekly      = "weekly"
	Monthly     = "monthly"
	Retention   = "retention"
)

// Off in place of a cron expression disables a job.
const Off = "off"

// BatchJob is one of the jobs of `aispend schedule`.
type BatchJob struct {
	// Name is the job's name (BudgetCheck, …) and the kind of its runs.
	Name string
	// Key is its key under schedules in the configuration file.
	Key string
	// DefaultCron is when it runs unless configured otherwise, in the configured time zone.
	DefaultCron string
}

// BatchJobs are the jobs of `aispend schedule` in a fixed order, with their default schedules.
var BatchJobs = []BatchJob{
	{BudgetCheck, "budget_check", "*/15 * * * *"}, // alerts only, every quarter of an hour
	{Daily, "daily", "0 9 * * *"},                 // yesterday's report at 09:00
	{Weekly, "weekly", "0 9 * * 1"},               // last week's, Monday 09:00
	{Monthly, "monthly", "0 9 1 * *"},             // last month's, on the 1st at 09:00
	{Retention, "retention", "30 3 * * *"},        // nightly
}

// Work is what the job called name does at now: "daily", "weekly" and "monthly" report the
// period of that kind that ended last (statistics, alerts, pages, workbooks, publish, digest);
// "budget-check" only checks budgets and sends alerts, for today; "retention" only drops old
// partitions, under today's label. Retention is its own job, so report runs leave it out.
func Work(name string, now time.Time, loc *time.Location) (report.Period, report.Steps, error) {
	switch name {
	case Daily, Weekly, Monthly:
		return report.DefaultPeriod(report.PeriodKind(name), now, loc), report.StepStatistics | report.StepAlerts, nil
	case BudgetCheck:
		return report.PeriodContaining(report.Daily, now, loc), report.StepAlerts, nil
	case Retention:
		return report.PeriodContaining(report.Daily, now, loc), report.StepRetention, nil
	}
	return report.Period{}, 0, fmt.Errorf("unknown batch job %q", name)
}

// Label names the period the job called name covers at now (the runs table's period and the run
// lock's key): for report runs, the period that ended last (yesterday, last ISO week, last
// month); for budget checks and retention, the current day, so that each day's checks queue
// behind each other rather than overlap.
func Label(name string, now time.Time, loc *time.Location) string {
	p, _, err := Work(name, now, loc)
	if err != nil {
		p = report.PeriodContaining(report.Daily, now, loc)
	}
	return p.Label()
}

// Recorded is the function of the job called name: at each tick it takes one instant from
// clock, for the label and the work alike (so that a tick just before midnight records and
// reports the same period), and runs work for it as one run of runs (runlog.Log.Do): recorded in
// the runs table, and never overlapping a run of the same kind and period wherever that one was
// started (another replica, or `aispend run` from cron).
func Recorded(runs *runlog.Log, name string, loc *time.Location, clock func() time.Time,
	work func(ctx context.Context, now time.Time) (runlog.Outcome, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		now := clock()
		return runs.Do(ctx, name, Label(name, now, loc), func(ctx context.Context) (runlog.Outcome, error) {
			return work(ctx, now)
		})
	}
}
