package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/site"
)

// outputOptions are the per-run choices of the output steps.
type outputOptions struct {
	resendDigest bool   // send the digest even if this period's was sent before
	dryRunDir    string // where a dry run writes what it renders; "": a new temporary directory
}

// addOutputs gives a report job its output steps (pages → workbooks → publish → digest), which
// run after its alerts: the site goes to the configured target (directory or S3) and the digest
// to digest.recipients.
func addOutputs(ctx context.Context, job *report.Job, cfg *Config, pool *pgxpool.Pool, log *slog.Logger, opts outputOptions) (closeReplica func(), err error) {
	closeReplica = func() {}
	target, err := cfg.publishTarget(log)
	if err != nil {
		return closeReplica, err
	}
	if st, ok := job.Store.(*pgquery.Store); ok && cfg.ReportDatabaseURL != "" {
		replica, err := openPool(ctx, cfg.ReportDatabaseURL)
		if err != nil {
			return closeReplica, fmt.Errorf("open REPORT_DATABASE_URL: %w", err)
		}
		closeReplica = replica.Close
		// The report's event rows come from the replica whenever it holds exactly its events.
		st.Replica, st.Logger = pgquery.New(replica), log
	}
	prices, err := cfg.priceTable()
	if err != nil {
		closeReplica()
		return func() {}, err
	}
	o, err := artifact.New(artifact.Config{
		Store:          cfg.store(pool),
		Target:         target,
		Sender:         job.Sender,
		Budgets:        job.Budgets,
		Location:       cfg.Location,
		Rates:          cfg.siteRates(),
		From:           cfg.fromAddress(),
		Recipients:     cfg.digestRecipients(),
		Installation:   job.Installation,
		AttachWorkbook: cfg.Digest.AttachWorkbook,
		AttachMaxBytes: cfg.Digest.AttachMaxBytes,
		// output reads 0 as its default; the configuration's 0 means no events in workbooks.
		EventsSheetMaxRows: cmp.Or(cfg.Reports.EventsSheetMaxRows, -1),
		NoEventsExport:     cfg.Reports.EventsExport != nil && !*cfg.Reports.EventsExport,
		NoFocusExport:      cfg.Reports.FocusExport != nil && !*cfg.Reports.FocusExport,
		ResendDigest:       opts.resendDigest,
		UnitPrices:         unitPrices(prices),
		Chargeback:         cfg.chargeback(),
		DryRunDir:          opts.dryRunDir,
		Now:                job.Now,
		Logger:             log,
	})
	if err != nil {
		closeReplica()
		return func() {}, err
	}
	job.Outputs = o
	return closeReplica, nil
}

// siteRates lists the configured exchange rates for the report pages, by currency code.
func (c *Config) siteRates() []site.Rate {
	var rates []site.Rate
	for cur, v := range c.FX {
		rates = append(rates, site.Rate{Currency: cur, Value: v.Decimal, Since: c.FXDate})
	}
	sort.Slice(rates, func(i, j int) bool { return rates[i].Currency < rates[j].Currency })
	return rates
}

// unitPrices gives the FOCUS export the base rates of the price version that priced events of a
// model on a UTC day: the table's row for the model at the day's start or end (a new row can
// take effect during the day), when it is that version; false when the table no longer has it.
func unitPrices(t *pricing.Table) report.UnitPrices {
	return func(version, model, provider string, day time.Time) (report.MeterPrices, bool) {
		for _, at := range []time.Time{day, day.AddDate(0, 0, 1).Add(-time.Nanosecond)} {
			p, ok := t.Lookup(model, provider, at)
			if !ok || p.Version() != version {
				continue
			}
			r := p.Levels()[0]
			return report.MeterPrices{Uncached: r.Input, CacheRead: r.CacheRead, CacheWrite: r.CacheWrite, Output: r.Output}, true
		}
		return report.MeterPrices{}, false
	}
}
