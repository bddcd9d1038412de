package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/site"
)

// The demo's budgets at the default size, in won. A weekday spends about 80 % of the daily
// budget, a weekend day about 20 %, the spike day far more, and a month about the monthly budget,
// so that thresholds are crossed on some days and not on others. QA_CHAT alone spends 65–110 %
// of its budget on weekdays.
var (
	demoDailyBudget   = decimal.NewFromInt(50_000)
	demoMonthlyBudget = decimal.NewFromInt(1_000_000)
	demoQABudget      = decimal.NewFromInt(20_000)
)

func cmdDemo(ctx context.Context, env *environment, args []string) error {
	fs := env.flagsWithoutConfig("demo", `Loads a realistic 30-day sample data set and runs the batch on it: one run for each of the last
7 complete days, the last complete week and the month of yesterday, like aispend run --date. It
writes the site and the workbooks to the output (default out/) and the emails to out/outbox/
(unless AISPEND_SMTP_HOST is set), and prints where they are.

Without DATABASE_URL it starts a private, throwaway PostgreSQL (initdb/pg_ctl on the PATH) and
stops it at the end. It uses its own configuration (KRW, Asia/Seoul, USD 1 = KRW 1,300, list
prices, budgets); DATABASE_URL, AISPEND_OUTPUT, AISPEND_SMTP_* and AISPEND_ALERT_EMAILS apply.
Re-running it with the same seed adds nothing twice.`)
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
	printDemoOutputs(env, cfg, periods, alerts)
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
	bar := newProgress(env, "loading events", gen.Total())
	loaded, err := demodata.Load(ctx, gen, store, 0, bar.Set)
	store.Close()
	bar.Finish()
	if err != nil {
		return err
	}
	printLoadSummary(env, cfg, gen, loaded, time.Since(started))
	return nil
}

// demoDays is how many complete days the demo reports, one daily run each.
const demoDays = 7

// demoPeriods are the periods the demo reports, in the order it runs them: the last demoDays
// complete days, oldest first, so that alerts and the site's archive build up as they would
// day by day; then the last complete ISO week; then the month of the last complete day (the
// current month to date, or on the 1st the month that just ended), because the data set
// covers only the last 30 days and the month before would be mostly empty.
func demoPeriods(now time.Time, loc *time.Location) []report.Period {
	yesterday := report.DefaultPeriod(report.Daily, now, loc)
	days := make([]report.Period, demoDays)
	p := yesterday
	for i := demoDays - 1; i >= 0; i-- {
		days[i] = p
		p = p.Previous()
	}
	return append(days,
		report.DefaultPeriod(report.Weekly, now, loc),
		report.PeriodContaining(report.Monthly, yesterday.Start, loc))
}

// runDemoBatch runs the batch job for each of demoPeriods, as `aispend run --date` would
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
	periods := demoPeriods(time.Now(), cfg.Location)
	fmt.Fprintf(env.stdout, "\nRunning the batch for %d periods:\n", len(periods))
	alerts := 0
	var errs []error
	realNow := job.Now
	for _, p := range periods {
		// Each day's alerts are checked as the daily run at 09:00 the next morning would have:
		// they are within alerts.grace then, and the demo shows them; checked now, a week of
		// backfilled days would be too late to send (report.Stale).
		alertsAt := p.End.Add(9 * time.Hour)
		job.Now = func() time.Time {
			if n := realNow(); p.Kind != report.Daily || n.Before(alertsAt) {
				return n
			}
			return alertsAt
		}
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

// demoConfig is the configuration of the demo. Budgets scale with the number of events, so that
// they are crossed the same way at any size; at the default size the daily budget is ₩50,000.
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
	scale := func(d decimal.Decimal) Dec {
		v := d.Mul(decimal.NewFromInt(int64(events))).Div(decimal.NewFromInt(demodata.DefaultEvents)).Round(0)
		return Dec{decimal.Max(v, decimal.NewFromInt(1))}
	}
	thresholds := []int{50, 80, 95}
	cfg.Budgets = []BudgetConfig{
		{Name: "daily-total", Period: "daily", Amount: scale(demoDailyBudget), Thresholds: thresholds, Forecast: true,
			Recipients: []string{"finance@example.com"}},
		{Name: "monthly-total", Period: "monthly", Amount: scale(demoMonthlyBudget), Thresholds: thresholds, Forecast: true,
			Recipients: []string{"finance@example.com", "cto@example.com"}},
		{Name: "qa-chat-daily", Period: "daily", Amount: scale(demoQABudget), Thresholds: thresholds, Forecast: true,
			Scope: map[string]string{"service": "QA_CHAT"}, Recipients: []string{"qa-team@example.com"}},
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

func printLoadSummary(env *environment, cfg *Config, gen *demodata.Generator, l demodata.Loaded, took time.Duration) {
	cost, n, unpriced := l.Totals.Sum()
	w := env.stdout
	fmt.Fprintf(w, "Loaded %s events (%s new, %s already present) in %s: %s to %s.\n",
		group(n), group(l.Accepted), group(l.Duplicates), took.Round(100*time.Millisecond),
		gen.Start().Format(time.DateOnly), gen.End().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Total cost %s, %s unpriced events (model missing from the price table).\n",
		format.Format(cost, cfg.Currency), group(unpriced))
	spikeDay := ""
	for _, d := range gen.Days() {
		if d.Spike && d.Complete {
			spikeDay = d.Date.Format("Mon 2006-01-02")
		}
	}
	if spikeDay != "" {
		fmt.Fprintf(w, "Spike: %s, a retry loop in %s's chat integration.\n", spikeDay, gen.SpikeOrg())
	}
	for _, b := range cfg.Budgets {
		if b.Period != "daily" || len(b.Scope) > 0 {
			continue
		}
		// Complete days only: today is still running.
		counts := make([]int, len(b.Thresholds))
		days := 0
		today := gen.Days()[len(gen.Days())-1].Date
		for _, d := range l.Totals.Days() {
			if !d.Date.Before(today) {
				continue
			}
			days++
			for i, t := range b.Thresholds {
				if report.Crossed(d.Cost, b.Amount.Decimal, t) {
					counts[i]++
				}
			}
		}
		var parts []string
		for i, t := range b.Thresholds {
			parts = append(parts, fmt.Sprintf("%d%% on %d", t, counts[i]))
		}
		fmt.Fprintf(w, "Budget %s (%s a day) reached %s of %d days.\n", b.Name, format.Format(b.Amount.Decimal, cfg.Currency), strings.Join(parts, ", "), days)
	}
}

func printKept(env *environment, c *pglocal.Cluster, cfgPath string) {
	if c == nil {
		fmt.Fprintf(env.stdout, "\nConfiguration kept (--keep): %s\n", cfgPath)
		return
	}
	// pglocal runs the server as postgres when we are root.
	pgctl := "pg_ctl"
	if os.Geteuid() == 0 {
		pgctl = "runuser -u postgres -- pg_ctl"
	}
	stop := fmt.Sprintf("%s -D %s stop && rm -rf %s %s", pgctl, filepath.Join(c.Dir, "data"), c.Dir, filepath.Dir(cfgPath))
	fmt.Fprintf(env.stdout, "\nPostgreSQL keeps running (--keep):\n  DATABASE_URL=%s\n  configuration: %s\n  cluster directory: %s\n  stop it with: %s\n",
		c.URL, cfgPath, c.Dir, stop)
}

// printDemoOutputs says where the demo's site, pages, workbooks and emails are: the landing page,
// the page and workbook of the last day, the week and the month (the other days are beside the
// last one).
func printDemoOutputs(env *environment, cfg *Config, periods []report.Period, alerts int) {
	w := env.stdout
	out := cfg.Output
	if !strings.HasPrefix(out, "s3://") {
		if abs, err := filepath.Abs(out); err == nil {
			out = abs
		}
	}
	var shown []site.Period
	for i, p := range periods {
		if i+1 < len(periods) && periods[i+1].Kind == p.Kind {
			continue // an earlier day
		}
		shown = append(shown, artifact.SitePeriod(p))
	}
	list := func(title string, path func(site.Period) string) {
		for i, sp := range shown {
			if i == 0 {
				fmt.Fprintf(w, "  %-10s %s\n", title+":", path(sp))
			} else {
				fmt.Fprintf(w, "  %-10s %s\n", "", path(sp))
			}
		}
	}
	fmt.Fprintf(w, "\nDone. Look at:\n  site:      %s\n", join(out, "index.html"))
	list("pages", func(sp site.Period) string { return join(out, sp.PagePath()) })
	list("workbooks", func(sp site.Period) string { return join(out, sp.Dir(), sp.WorkbookName()) })
	if cfg.Mail.Host == "" {
		outbox := out
		if strings.HasPrefix(out, "s3://") {
			outbox, _ = filepath.Abs("out") // .eml files are always written locally
		}
		fmt.Fprintf(w, "  emails:    %s (%d %s sent by this run, and the digests)\n", join(outbox, "outbox", "*.eml"), alerts, format.Noun(int64(alerts), "alert"))
	} else {
		fmt.Fprintf(w, "  emails:    sent through %s (%d %s sent by this run, and the digests)\n", cfg.Mail.Host, alerts, format.Noun(int64(alerts), "alert"))
	}
}

func join(base string, parts ...string) string {
	if strings.HasPrefix(base, "s3://") {
		return strings.TrimSuffix(base, "/") + "/" + strings.Join(parts, "/")
	}
	return filepath.Join(append([]string{base}, parts...)...)
}

func group(n int) string { return format.Group(strconv.Itoa(n)) }
