package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/schedule"
)

// runFlags are the flags of `aispend run`.
type runFlags struct {
	period, date, dryDir    string
	dry, resend, alertsOnly bool
}

func cmdRun(ctx context.Context, env *environment, args []string) error {
	f, err := parseRunFlags(env, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env.configPath, env.getenv)
	if err != nil {
		return err
	}
	p, err := runPeriod(cfg, f.period, f.date)
	if err != nil {
		return err
	}
	if f.alertsOnly {
		pool, err := openMigrated(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		return jobFuncs(cfg, pool, env.log)[schedule.BudgetCheck](ctx)
	}
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !f.dry {
		// A dry run writes nothing, not even the schema or prices: run `aispend migrate` first.
		if err := pgstore.Migrate(ctx, pool, cfg.RetentionDays); err != nil {
			return err
		}
		if _, err := repriceEvents(ctx, cfg, pool, env.log); err != nil {
			return err
		}
	}
	return runBatch(ctx, env, cfg, pool, p, f)
}

func parseRunFlags(env *environment, args []string) (*runFlags, error) {
	fs := env.flags("run", "Runs the batch once: refresh daily aggregates and compute statistics → budgets → alerts → pages →\n"+
		"workbooks → publish → digest email → retention. Prints a one-line summary; exits non-zero when any step\n"+
		"failed (what succeeded is kept). A period's digest is emailed once: re-runs do not send it again\n"+
		"unless --resend-digest is given.\n"+
		"Each run is recorded in the runs table (aispend runs). A run of the same period already in progress\n"+
		"(cron, aispend schedule, another aispend run) is waited for up to run_lock_wait (AISPEND_RUN_LOCK_WAIT,\n"+
		"default 10m); after that this run exits non-zero naming the run that holds the period.")
	var f runFlags
	fs.StringVar(&f.period, "period", "daily", "period: daily, weekly or monthly")
	fs.StringVar(&f.date, "date", "", "report the period containing this date, YYYY-MM-DD (default: the period that just ended, in the configured time zone)")
	fs.BoolVar(&f.dry, "dry-run", false, "compute and render everything into a local directory (see --dry-run-dir); send and publish nothing")
	fs.StringVar(&f.dryDir, "dry-run-dir", "", "with --dry-run: where to write the rendered site, workbook and digest (default: a new temporary directory, printed)")
	fs.BoolVar(&f.resend, "resend-digest", false, "send the period's digest email even if it was sent before")
	fs.BoolVar(&f.alertsOnly, "alerts-only", false, "only check the budgets' current periods and send due alerts, like the scheduler's budget_check job\n(for a frequent cron entry); no statistics, pages or digest")
	if err := env.parse(fs, args); err != nil {
		return nil, err
	}
	if f.alertsOnly && (f.dry || f.date != "" || f.resend) {
		return nil, errors.New("--alerts-only: checks the current periods; it takes no --date, --dry-run or --resend-digest")
	}
	if f.dryDir != "" && !f.dry {
		return nil, errors.New("--dry-run-dir: only with --dry-run")
	}
	return &f, nil
}

// runPeriod is the period `aispend run` reports: the one of kind containing date, else the
// one that just ended.
func runPeriod(cfg *Config, kindFlag, date string) (report.Period, error) {
	kind, err := report.ParsePeriodKind(kindFlag)
	if err != nil {
		return report.Period{}, fmt.Errorf("--period: %w", err)
	}
	now := cfg.now()
	if date == "" {
		return report.DefaultPeriod(kind, now, cfg.Location), nil
	}
	p, err := report.ParsePeriod(kind, date, cfg.Location)
	if err != nil {
		return report.Period{}, fmt.Errorf("--date: %w", err)
	}
	// A period in progress (today, this week) can be reported so far; one that has not begun
	// has nothing to report, and its empty page would go into the archive.
	if p.Start.After(now) {
		return report.Period{}, fmt.Errorf("--date %s: the %s period %s has not begun: it starts %s (now %s)", date, kind, p.Label(),
			p.Start.Format("2006-01-02 15:04 MST"), now.In(cfg.Location).Format("2006-01-02 15:04 MST"))
	}
	return p, nil
}

// runBatch runs the batch job with its outputs for p, recorded in the runs table unless it is
// a dry run, and prints its summary.
func runBatch(ctx context.Context, env *environment, cfg *Config, pool *pgxpool.Pool, p report.Period, f *runFlags) error {
	sender, err := newSender(cfg, env)
	if err != nil {
		return err
	}
	job, err := newBatchJob(ctx, cfg, pool, sender, env.log)
	if err != nil {
		return err
	}
	if f.dry && f.dryDir == "" {
		if f.dryDir, err = os.MkdirTemp("", "aispend-dry-run-"); err != nil {
			return fmt.Errorf("create dry-run directory: %w", err)
		}
	}
	closeReplica, err := addOutputs(ctx, job, cfg, pool, env.log, outputOptions{resendDigest: f.resend, dryRunDir: f.dryDir})
	defer closeReplica()
	if err != nil {
		return err
	}
	var res *report.Result
	work := func(ctx context.Context) (runlog.Outcome, error) {
		var err error
		res, err = job.Run(ctx, p, report.RunOptions{DryRun: f.dry})
		return outcomeOf(res), err
	}
	var runErr error
	if f.dry {
		_, runErr = work(ctx)
	} else {
		// Recorded in the runs table like a scheduled run of the same kind and period, so that
		// cron, the scheduler and a manual re-run never overlap.
		runs := runlog.New(pool, runlog.Options{Wait: cfg.RunLockWait, Logger: env.log})
		runErr = runs.Do(ctx, string(p.Kind), p.Label(), work)
	}
	if res != nil {
		fmt.Fprintln(env.stdout, res.Summary(cfg.Currency))
	}
	if f.dry {
		fmt.Fprintf(env.stdout, "dry run: the rendered site, workbook and digest (outbox/) are in %s\n", f.dryDir)
	}
	if runErr != nil {
		return fmt.Errorf("run %s: %w", p, runErr)
	}
	return nil
}

func cmdAlert(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(env.stderr, "Usage: aispend alert test [--to ADDR | --channel NAME] [flags]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usageError{errors.New("alert: want the subcommand test")}
	}
	fs := env.flags("alert test", "Sends a sample budget alert through the configured mail transport (SMTP, or .eml files in out/outbox without SMTP),\nor with --channel through an alert channel (webhook, Slack, PagerDuty: a trigger, then its resolve), and reports\nsuccess or the error.")
	to := fs.String("to", "", "recipient address (default: the configured alert recipients)")
	ch := fs.String("channel", "", "send through this configured channel instead of email")
	if err := env.parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(env.configPath, env.getenv)
	if err != nil {
		return err
	}
	if *ch != "" {
		if *to != "" {
			return usageError{err: errors.New("alert test: --to and --channel exclude each other")}
		}
		// The real clock, not AISPEND_NOW: the test message's id is its own.
		msg, err := cfg.sendChannelTest(ctx, *ch, "", time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "test alert sent through channel %s (id %s)\n", *ch, msg.ID)
		return nil
	}
	rcpt := cfg.Mail.Recipients
	if *to != "" {
		if err := checkAddress(*to, cfg.Mail.AllowedDomains); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		rcpt = []string{*to}
	}
	if len(rcpt) == 0 {
		return errors.New("--to: required (no AISPEND_ALERT_EMAILS configured)")
	}
	sender, err := newSender(cfg, env)
	if err != nil {
		return err
	}
	msg, err := cfg.sampleAlert(time.Now(), rcpt)
	if err != nil {
		return err
	}
	if err := sender.Send(ctx, msg); err != nil {
		return fmt.Errorf("send test alert: %w", err)
	}
	fmt.Fprintf(env.stdout, "test alert sent to %v (Message-ID %s)\n", rcpt, msg.Headers.Get("Message-ID"))
	return nil
}
