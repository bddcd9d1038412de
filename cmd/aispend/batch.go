package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/schedule"
)

// reportBudgets maps the configured budgets to report.Budget, listing every problem at once.
func (c *Config) reportBudgets() ([]report.Budget, error) {
	var out []report.Budget
	var problems []string
	seen := map[string]bool{}
	for i, bc := range c.Budgets {
		key := fmt.Sprintf("budgets[%d]", i)
		if bc.Name != "" {
			key = fmt.Sprintf("budgets[%d] (%s)", i, bc.Name)
		}
		period := bc.Period
		if period == "" {
			period = "daily"
		}
		kind, err := report.ParsePeriodKind(period)
		if err != nil {
			kind = report.PeriodKind(period) // refused by Validate, with the budget's other problems
		}
		scope, err := report.ParseScope(bc.Scope)
		if err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				problems = append(problems, key+"."+e)
			}
		}
		routes, _ := bc.routes(nil) // refused by loadConfig (readChannels)
		b := report.Budget{
			Name: bc.Name, Period: kind, Amount: bc.Amount.Decimal, Thresholds: bc.Thresholds,
			Forecast: bc.Forecast, BurnRate: bc.BurnRate, Scope: scope, Recipients: bc.Recipients, Routes: routes,
		}
		problems = append(problems, bc.envelope(&b, key)...)
		if err := b.Validate(); err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				problems = append(problems, key+"."+e)
			}
		}
		if seen[bc.Name] {
			problems = append(problems, key+".name: used by two budgets")
		}
		seen[bc.Name] = true
		out = append(out, b)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return out, nil
}

// fromAddress is the sender of alerts and digests.
func (c *Config) fromAddress() string {
	if c.Mail.From != "" {
		return c.Mail.From
	}
	return "aispend <aispend@localhost>"
}

// newBatchJob wires the batch job: `aispend run`, the scheduler and the demo all use it. Report
// runs add the outputs (pages, workbooks, publishing, digest) with addOutputs. It reads the
// installation's id once, for the Message-IDs of the run's emails.
func newBatchJob(ctx context.Context, cfg *Config, pool *pgxpool.Pool, sender report.Sender, log *slog.Logger) (*report.Job, error) {
	budgets, err := cfg.reportBudgets()
	if err != nil {
		return nil, err
	}
	if sender == nil {
		return nil, errors.New("no mail sender")
	}
	// Alert emails link the period page and workbook where they are published (file:// for a
	// local directory without a public URL), in budget-check runs too.
	target, err := cfg.publishTarget(log)
	if err != nil {
		return nil, err
	}
	prices, err := cfg.priceTable()
	if err != nil {
		return nil, err
	}
	installation, err := pgstore.InstallationID(ctx, pool)
	if err != nil {
		return nil, err
	}
	store := cfg.store(pool)
	job := &report.Job{
		Links:           artifact.PeriodLinks(target),
		CacheSaving:     cacheSaving(prices),
		Store:           store,
		Channels:        cfg.notifiers(),
		Deliveries:      store,
		ComposeAlert:    email.AlertEmail,
		Sender:          sender,
		Budgets:         budgets,
		Location:        cfg.Location,
		Currency:        cfg.Currency,
		From:            cfg.fromAddress(),
		Recipients:      cfg.Mail.Recipients,
		RetentionDays:   cfg.RetentionDays,
		Installation:    installation,
		MessageIDDomain: mail.MessageIDDomain(cfg.Mail.From),
		AlertGrace:      cfg.Alerts.Grace,
		Now:             cfg.now,
		Logger:          log,
	}
	job.ComposeEntityAlert = email.EntityAlertEmail
	if job.Anomaly = cfg.anomalyConfig(); job.Anomaly != nil {
		job.Anomalies, job.ComposeAnomaly = store, email.AnomalyEmail
	}
	return job, nil
}

// batchRun is the work of one scheduled job (the scheduler's jobFuncs) of kind at now; see
// schedule.Work. It logs the run's one-line summary.
func batchRun(ctx context.Context, cfg *Config, pool *pgxpool.Pool, log *slog.Logger, kind string, now time.Time) (runlog.Outcome, error) {
	p, steps, err := schedule.Work(kind, now, cfg.Location)
	if err != nil {
		return runlog.Outcome{}, err
	}
	if steps&(report.StepStatistics|report.StepAlerts) != 0 {
		if _, err := repriceEvents(ctx, cfg, pool, log); err != nil {
			return runlog.Outcome{}, err
		}
	}
	sender, err := cfg.newMailer()
	if err != nil {
		return runlog.Outcome{}, err
	}
	job, err := newBatchJob(ctx, cfg, pool, sender, log)
	if err != nil {
		return runlog.Outcome{}, err
	}
	job.Now = func() time.Time { return now }
	if steps&report.StepStatistics != 0 {
		closeReplica, err := addOutputs(ctx, job, cfg, pool, log, outputOptions{})
		defer closeReplica()
		if err != nil {
			return runlog.Outcome{}, err
		}
	}
	res, err := job.Run(ctx, p, report.RunOptions{Steps: steps})
	log.Info("batch run", "job", kind, "summary", res.Summary(cfg.Currency))
	return outcomeOf(res), err
}

// outcomeOf is what a run's result records in the runs table.
func outcomeOf(res *report.Result) runlog.Outcome {
	if res == nil {
		return runlog.Outcome{}
	}
	return runlog.Outcome{PublishedKeys: res.Published, AlertsSent: res.Alerts.Sent}
}

// cacheSaving prices prompt-cache savings from the price table (pricing.Table.CacheSaving); nil
// without a USD rate, as the prices are in USD.
func cacheSaving(t *pricing.Table) *report.CacheSaving {
	if _, ok := t.Rate("USD"); !ok {
		return nil
	}
	return &report.CacheSaving{Tiers: t.TierThresholds(), Saved: t.CacheSaving}
}

// store is the batch side's store (report/pgquery), breaking reports down by the configured tag
// keys.
func (cfg *Config) store(pool *pgxpool.Pool) *pgquery.Store {
	st := pgquery.New(pool)
	st.TagKeys = cfg.Reports.TagKeys
	return st
}
