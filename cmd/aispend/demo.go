package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/runlog"
)

// demoHelp is the help of `aispend demo`.
const demoHelp = `Loads a realistic 30-day sample data set and runs the batch on it: one run for each of the last
7 complete days, the last complete week and the month of yesterday, like aispend run --date. It
writes the site and the workbooks to the output (default out/) and the emails to out/outbox/
(unless AISPEND_SMTP_HOST is set), and prints where they are.

Without DATABASE_URL it starts a private, throwaway PostgreSQL (initdb/pg_ctl on the PATH) and
stops it at the end. It uses its own configuration (KRW, Asia/Seoul, USD 1 = KRW 1,300, list
prices, budgets); DATABASE_URL, AISPEND_OUTPUT, AISPEND_SMTP_* and AISPEND_ALERT_EMAILS apply.
Re-running it with the same seed adds nothing twice.`

func cmdDemo(ctx context.Context, env *environment, args []string) error {
	fs := env.flagsWithoutConfig("demo", demoHelp)
	events := fs.Int("events", demodata.DefaultEvents, "about how many events to generate over the 30 days (budgets scale with it)")
	seed := fs.Uint64("seed", 1, "seed of the data set: the same seed always gives the same events")
	keep := fs.Bool("keep", false, "keep the private PostgreSQL running at the end and print how to reach and stop it")
	if err := env.parse(fs, args); err != nil {
		return err
	}
	if *events < 1 {
		return fmt.Errorf("--events %d: must be at least 1", *events)
	}

	// The configuration is written to a file and read back through the normal loader, so that it
	// is validated like any other and environment overrides apply; with --keep the file stays
	// for `aispend run --config`.
	dir, err := os.MkdirTemp("", "aispend-demo-")
	if err != nil {
		return fmt.Errorf("create demo directory: %w", err)
	}
	cfgPath := filepath.Join(dir, "aispend.yaml")
	var cluster *pglocal.Cluster
	// Runs last, also after a failure or an interrupt, so that a kept cluster is never left
	// running without a word on how to reach and stop it.
	defer func() {
		if *keep {
			printKept(env, cluster, cfgPath)
			return
		}
		os.RemoveAll(dir)
	}()
	if err := writeConfig(cfgPath, demoConfig(*events)); err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath, demoGetenv(env.getenv))
	if err != nil {
		return err
	}

	if cfg.DatabaseURL == "" {
		if cluster, err = startDemoCluster(ctx, env, cfg); err != nil {
			return err
		}
		defer func() {
			if *keep {
				return
			}
			if err := cluster.Stop(); err != nil {
				env.log.Error("stop private PostgreSQL", "error", err)
			}
		}()
	}
	pool, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := loadDemoEvents(ctx, env, cfg, pool, *events, *seed); err != nil {
		return err
	}

	periods, alerts, err := runDemoBatch(ctx, cfg, pool, env)
	if err != nil {
		return fmt.Errorf("run demo batch: %w", err)
	}
	demodata.WriteOutputs(env.stdout, demodata.Outputs{Output: cfg.Output, MailHost: cfg.Mail.Host, Alerts: alerts}, periods)
	return nil
}

// startDemoCluster starts a private PostgreSQL for the demo and points cfg at it.
func startDemoCluster(ctx context.Context, env *environment, cfg *Config) (*pglocal.Cluster, error) {
	env.log.Info("starting a private PostgreSQL (DATABASE_URL is not set)")
	cluster, err := pglocal.Start(ctx, pglocal.Options{})
	if err != nil {
		return nil, fmt.Errorf("start private PostgreSQL: %w", err)
	}
	cfg.DatabaseURL = cluster.URL
	env.log.Info("private PostgreSQL started", "dir", cluster.Dir, "port", cluster.Port)
	return cluster, nil
}

// loadDemoEvents generates the demo's data set, 30 days up to now, stores it (what is stored
// already is counted once), and prints what it loaded.
func loadDemoEvents(ctx context.Context, env *environment, cfg *Config, pool *pgxpool.Pool, events int, seed uint64) error {
	prices, err := cfg.priceTable()
	if err != nil {
		return err
	}
	gen, err := demodata.New(demodata.Options{Seed: seed, Events: events, End: time.Now(), Location: cfg.Location, Prices: prices})
	if err != nil {
		return err
	}
	env.log.Info("loading demo events", "events", gen.Total(), "seed", seed,
		"from", gen.Start().Format(time.DateOnly), "to", gen.End().Format(time.DateTime+" MST"))
	started := time.Now()
	store := pgstore.New(pool, pgstore.Options{})
	bar := demodata.NewProgress(env.stderr, env.log, "loading events", gen.Total())
	loaded, err := demodata.Load(ctx, gen, store, 0, bar.Set)
	store.Close()
	bar.Finish()
	if err != nil {
		return err
	}
	demodata.WriteLoadSummary(env.stdout, gen, loaded, time.Since(started), cfg.Currency, demodata.Budgets(events))
	return nil
}

// runDemoBatch runs the batch job for each of demodata.Periods, as `aispend run --date` would
// (recorded in the runs table; statistics, alerts, pages, workbooks, publishing and digest;
// retention is left out, as the data set is 30 days old at most), prints each run's summary line
// and returns the periods it reported and how many alerts it sent. A failed run does not stop the
// ones after it; the error names every failure.
func runDemoBatch(ctx context.Context, cfg *Config, pool *pgxpool.Pool, env *environment) ([]report.Period, int, error) {
	sender, err := newSender(cfg, env)
	if err != nil {
		return nil, 0, err
	}
	job, err := newBatchJob(ctx, cfg, pool, sender, env.log)
	if err != nil {
		return nil, 0, err
	}
	closeReplica, err := addOutputs(ctx, job, cfg, pool, env.log, outputOptions{})
	defer closeReplica()
	if err != nil {
		return nil, 0, err
	}
	runs := runlog.New(pool, runlog.Options{Wait: cfg.RunLockWait, Logger: env.log})
	periods := demodata.Periods(time.Now(), cfg.Location)
	fmt.Fprintf(env.stdout, "\nRunning the batch for %d periods:\n", len(periods))
	alerts := 0
	var errs []error
	realNow := job.Now
	for _, p := range periods {
		job.Now = demodata.AlertClock(p, realNow)
		var res *report.Result
		err := runs.Do(ctx, string(p.Kind), p.Label(), func(ctx context.Context) (runlog.Outcome, error) {
			var err error
			res, err = job.Run(ctx, p, report.RunOptions{Steps: report.StepStatistics | report.StepAlerts})
			return outcomeOf(res), err
		})
		if res != nil {
			fmt.Fprintln(env.stdout, "  "+res.Summary(cfg.Currency))
			alerts += res.Alerts.Sent
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return periods, alerts, errors.Join(errs...)
}

// demoConfig is the configuration of the demo: demodata's currency, time zone, prices and
// budgets (scaled to the number of events).
func demoConfig(events int) Config {
	cfg := defaultConfig()
	cfg.Currency = demodata.Currency
	cfg.Timezone = demodata.Timezone
	cfg.FX = map[string]Dec{"USD": {demodata.FXUSD}}
	for _, p := range demodata.Prices() {
		pc := PriceConfig{Model: p.Model, Provider: p.Provider, From: p.From, Input: Dec{p.Input}, Output: Dec{p.Output}}
		if p.CacheRead != nil {
			pc.CacheRead = &Dec{*p.CacheRead}
		}
		if p.CacheWrite != nil {
			pc.CacheWrite = &Dec{*p.CacheWrite}
		}
		cfg.Prices = append(cfg.Prices, pc)
	}
	for _, b := range demodata.Budgets(events) {
		cfg.Budgets = append(cfg.Budgets, BudgetConfig{Name: b.Name, Period: b.Period, Amount: Dec{b.Amount},
			Thresholds: b.Thresholds, Forecast: true, Scope: b.Scope, Recipients: b.Recipients})
	}
	cfg.Mail.From = "aispend@example.com"
	cfg.Mail.Recipients = []string{"ops@example.com"}
	return cfg
}

func writeConfig(path string, cfg Config) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode demo configuration: %w", err)
	}
	head := "# aispend demo configuration, written by `aispend demo`.\n"
	if err := os.WriteFile(path, append([]byte(head), b...), 0o644); err != nil {
		return fmt.Errorf("write demo configuration: %w", err)
	}
	return nil
}

// demoGetenv hides the settings the demo data depends on: its events are priced in won and its
// working hours are Seoul's, whatever the environment says.
func demoGetenv(getenv func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case "AISPEND_CONFIG", "AISPEND_CURRENCY", "AISPEND_TIMEZONE":
			return ""
		}
		return getenv(k)
	}
}

func printKept(env *environment, c *pglocal.Cluster, cfgPath string) {
	if c == nil {
		fmt.Fprintf(env.stdout, "\nConfiguration kept (--keep): %s\n", cfgPath)
		return
	}
	fmt.Fprintf(env.stdout, "\nPostgreSQL keeps running (--keep):\n  DATABASE_URL=%s\n  configuration: %s\n  cluster directory: %s\n  stop it with: %s\n",
		c.URL, cfgPath, c.Dir, c.StopCommand(filepath.Dir(cfgPath)))
}
