package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/schedule"
)

func cmdSchedule(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("schedule", "Runs the configured jobs (schedules.*) on their cron schedules, in the configured time zone.\n"+
		"Any number of replicas may run against one database: they elect a leader through a PostgreSQL\n"+
		"advisory lock and only the leader runs jobs; if it dies another takes over within seconds.\n"+
		"DATABASE_URL must reach PostgreSQL directly (not PgBouncer in transaction mode).\n"+
		"Stops on SIGTERM: running jobs are cancelled and recorded as failed, then it exits 0.")
	cfg, pool, err := env.migratedDB(ctx, fs, args)
	if err != nil {
		return err
	}
	defer pool.Close()

	funcs := jobFuncs(cfg, pool, env.log)
	var jobs []schedule.Job
	for _, e := range cfg.Schedules.entries() {
		if *e.Cron == scheduleOff {
			env.log.Info("job disabled", "job", e.Job, "key", "schedules."+e.Key)
			continue
		}
		run, ok := funcs[e.Job]
		if !ok {
			return fmt.Errorf("schedule: no function for job %q", e.Job)
		}
		jobs = append(jobs, schedule.Job{Name: e.Job, Cron: *e.Cron, Run: run})
	}
	if len(jobs) == 0 {
		return errors.New(`schedule: every job is "off" in schedules: nothing to run`)
	}
	env.log.Info("scheduler starting", "jobs", len(jobs), "timezone", cfg.Location.String(), "version", version)
	return schedule.Run(ctx, cfg.DatabaseURL, jobs, schedule.Options{Location: cfg.Location, Logger: env.log})
}

// jobFuncs maps each scheduled job name (the runs table's kind) to its function: the batch job
// for the period the job covers at the tick (see scheduledPeriod). Each run is recorded in the
// runs table and never overlaps a run of the same kind and period, wherever that one was started
// (another replica, or `aispend run` from cron).
func jobFuncs(cfg *Config, pool *pgxpool.Pool, log *slog.Logger) map[string]func(ctx context.Context) error {
	runs := runlog.New(pool, runlog.Options{Wait: cfg.RunLockWait})
	job := func(kind string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			// One instant for the label and the work, so that a tick just before midnight
			// records and reports the same period.
			now := cfg.now()
			return recordRun(ctx, runs, log, kind, periodLabel(kind, now, cfg.Location), func(ctx context.Context) (runOutcome, error) {
				return batchRun(ctx, cfg, pool, log, kind, now)
			})
		}
	}
	return map[string]func(ctx context.Context) error{
		"budget-check": job("budget-check"),
		"daily":        job("daily"),
		"weekly":       job("weekly"),
		"monthly":      job("monthly"),
		"retention":    job("retention"),
	}
}

// periodLabel names the period a scheduled run covers (the runs table's period and the run
// lock's key): for report runs, the period that ended last (yesterday, last ISO week, last
// month); for budget checks and retention, the current day, so that each day's checks queue
// behind each other rather than overlap.
func periodLabel(kind string, now time.Time, loc *time.Location) string {
	p, _, err := scheduledPeriod(kind, now, loc)
	if err != nil {
		p = report.PeriodContaining(report.Daily, now, loc)
	}
	return p.Label()
}

// runOutcome is what a run reports for its row in the runs table.
type runOutcome struct {
	PublishedKeys []string
	AlertsSent    int
}

// recordRun runs work as one recorded run of kind for period: it waits (up to run_lock_wait)
// for a run of the same key to finish, or fails naming the run that holds it; then it records
// the outcome. work gets a context that is also cancelled if the run's lock is lost. Use it for
// `aispend run` too, so that cron and scheduled runs exclude each other.
func recordRun(ctx context.Context, runs *runlog.Log, log *slog.Logger, kind, period string, work func(context.Context) (runOutcome, error)) error {
	run, err := runs.Begin(ctx, kind, period)
	if err != nil {
		return err
	}
	if len(run.Abandoned) > 0 {
		log.Warn("marked runs of a dead process as failed (abandoned)", "kind", kind, "period", period, "run_ids", run.Abandoned)
	}
	out, workErr := work(run.Context())
	if err := run.Finish(ctx, workErr, out.PublishedKeys, out.AlertsSent); err != nil {
		return errors.Join(workErr, err)
	}
	return workErr
}
