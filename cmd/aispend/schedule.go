package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
		if *e.Cron == schedule.Off {
			env.log.Info("job disabled", "job", e.Name, "key", "schedules."+e.Key)
			continue
		}
		run, ok := funcs[e.Name]
		if !ok {
			return fmt.Errorf("schedule: no function for job %q", e.Name)
		}
		jobs = append(jobs, schedule.Job{Name: e.Name, Cron: *e.Cron, Run: run})
	}
	if len(jobs) == 0 {
		return errors.New(`schedule: every job is "off" in schedules: nothing to run`)
	}
	env.log.Info("scheduler starting", "jobs", len(jobs), "timezone", cfg.Location.String(), "version", version)
	return schedule.Run(ctx, cfg.DatabaseURL, jobs, schedule.Options{Location: cfg.Location, Logger: env.log})
}

// jobFuncs maps each scheduled job name (the runs table's kind) to its function: the batch job
// for the period the job covers at the tick (schedule.Work), recorded as a run
// (schedule.Recorded).
func jobFuncs(cfg *Config, pool *pgxpool.Pool, log *slog.Logger) map[string]func(ctx context.Context) error {
	runs := runlog.New(pool, runlog.Options{Wait: cfg.RunLockWait, Logger: log})
	funcs := map[string]func(ctx context.Context) error{}
	for _, j := range schedule.BatchJobs {
		funcs[j.Name] = schedule.Recorded(runs, j.Name, cfg.Location, cfg.now, func(ctx context.Context, now time.Time) (runlog.Outcome, error) {
			return batchRun(ctx, cfg, pool, log, j.Name, now)
		})
	}
	return funcs
}
