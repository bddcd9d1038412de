package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report/format"
)

// repriceEvents prices the stored unpriced events that the configured price table and rates
// now cover. Every batch run does it first, so that reports count what became priceable.
func repriceEvents(ctx context.Context, cfg *Config, pool *pgxpool.Pool, log *slog.Logger) (int, error) {
	prices, err := cfg.priceTable()
	if err != nil {
		return 0, err
	}
	pass, err := pgstore.Reprice(ctx, pool, prices)
	if err != nil {
		return pass.Priced, fmt.Errorf("reprice events: %w", err)
	}
	if pass.Priced > 0 {
		log.Info("priced events that were unpriced", "events", pass.Priced)
	}
	return pass.Priced, nil
}

func cmdReprice(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("reprice", "Without --from/--to: prices stored unpriced events (unknown model, or a currency without a rate)\n"+
		"with the configured price table and rates, exactly as the collector would have; every `aispend run`\n"+
		"does this first.\n\n"+
		"With --from DATE --to DATE (days in the configured time zone, both included): recomputes from the\n"+
		"current price table and catalog the cost of every event of those days that aispend priced (or could\n"+
		"not price), never a cost the client sent, and prints per model the events and the total before and\n"+
		"after. Only with --force does it change them: it then records the change (tables reprices and\n"+
		"reprice_models) and the next run re-aggregates the days. Budget alerts already sent are not recalled.")
	fromS := fs.String("from", "", "first day to recompute, YYYY-MM-DD")
	toS := fs.String("to", "", "last day to recompute, YYYY-MM-DD (included)")
	force := fs.Bool("force", false, "change the events (without it, only print what would change)")
	cfg, pool, err := env.migratedDB(ctx, fs, args)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *fromS == "" && *toS == "" {
		if *force {
			return errors.New("--force goes with --from and --to")
		}
		n, err := repriceEvents(ctx, cfg, pool, env.log)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, format.Counted(int64(n), "event"), "priced")
		return nil
	}
	if *fromS == "" || *toS == "" {
		return errors.New("--from and --to go together")
	}
	from, err := pricing.ParseDate(*fromS, cfg.Location)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	last, err := pricing.ParseDate(*toS, cfg.Location)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if last.Before(from) {
		return fmt.Errorf("--to %s is before --from %s", *toS, *fromS)
	}
	to := last.AddDate(0, 0, 1)
	table, err := cfg.priceTable()
	if err != nil {
		return err
	}
	res, err := pgstore.RepriceRange(ctx, pool, table, from, to, *force)
	if err != nil {
		return err
	}
	printReprice(env, cfg.Currency, *fromS, *toS, res, *force)
	if *force {
		env.log.Info("repriced events", "reprice_id", res.ID, "from", *fromS, "to", *toS, "events", res.Changed)
	}
	return nil
}

func printReprice(env *environment, currency, from, to string, res pgstore.RepriceResult, force bool) {
	w := tabwriter.NewWriter(env.stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "model\tprovider\tevents\tchanged\tbefore\tafter\tdifference\t\n")
	var before, after decimal.Decimal
	var events int64
	for _, m := range res.Models {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n", m.Model, m.Provider, m.Events, m.Changed,
			format.FormatFine(m.Before, currency), format.FormatFine(m.After, currency), format.FormatFine(m.After.Sub(m.Before), currency))
		before, after, events = before.Add(m.Before), after.Add(m.After), events+m.Events
	}
	fmt.Fprintf(w, "total\t\t%d\t%d\t%s\t%s\t%s\t\n", events, res.Changed, format.FormatFine(before, currency), format.FormatFine(after, currency),
		format.FormatFine(after.Sub(before), currency))
	w.Flush()
	if force {
		fmt.Fprintf(env.stdout, "%s repriced from %s to %s (reprice %d); the next run re-aggregates their days\n", format.Counted(res.Changed, "event"), from, to, res.ID)
	} else {
		fmt.Fprintf(env.stdout, "dry run: %s would change from %s to %s; add --force to change them\n", format.Counted(res.Changed, "event"), from, to)
	}
}

func cmdPrices(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "list" && args[0] != "check" {
		fmt.Fprintln(env.stderr, "Usage: aispend prices list|check [flags]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usageError{errors.New("prices: want the subcommand list or check")}
	}
	sub := args[0]
	fs := env.flags("prices "+sub, map[string]string{
		"list": "Shows the price in force now of every model and provider with events in the last 30 days: where it\n" +
			"comes from (prices: the configuration, catalog: price_catalog), its version and date, and its rates in\n" +
			"USD per million tokens.",
		"check": "Lists the models and providers with events in the last 30 days that have no price (their events\n" +
			"without a client cost are stored unpriced), with their event and token counts, and exits non-zero when\n" +
			"there are any: for a CI or cron check.",
	}[sub])
	cfg, pool, err := env.migratedDB(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer pool.Close()
	table, err := cfg.priceTable()
	if err != nil {
		return err
	}
	now := cfg.Clock()
	seen, err := pgstore.ModelsSeen(ctx, pool, now.AddDate(0, 0, -30))
	if err != nil {
		return err
	}
	if sub == "list" {
		return printPriceList(env.stdout, seen, table, now)
	}
	return printMissingPrices(env.stdout, seen, table, now)
}

// printPriceList is `aispend prices list`: the price in force now of every model seen.
func printPriceList(out io.Writer, seen []pgstore.ModelSeen, table *pricing.Table, now time.Time) error {
	w := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(w, "model\tprovider\tevents\tunpriced\tsource\tversion\tinput\tcache read\tcache write\tcache write 1h\toutput\ttiers\n")
	for _, m := range seen {
		p, ok := table.Lookup(m.Model, m.Provider, now)
		if !ok {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\tnone\t-\t\t\t\t\t\t\n", m.Model, m.Provider, m.Events, m.Unpriced)
			continue
		}
		src := "prices"
		if p.Source == pricing.SourceCatalog {
			src = "catalog"
		}
		lv := p.Levels()
		var tiers string
		for _, t := range lv[1:] {
			tiers += fmt.Sprintf(" >%d: %s/%s/%s/%s/%s", t.Above, t.Input, t.CacheRead, t.CacheWrite, t.CacheWrite1h, t.Output)
		}
		b := lv[0]
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Model, m.Provider, m.Events, m.Unpriced, src, p.Version(),
			b.Input, b.CacheRead, b.CacheWrite, b.CacheWrite1h, b.Output, tiers)
	}
	return w.Flush()
}

// printMissingPrices is `aispend prices check`: the models seen without a price, an error when
// there are any.
func printMissingPrices(out io.Writer, seen []pgstore.ModelSeen, table *pricing.Table, now time.Time) error {
	w := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	missing := 0
	fmt.Fprintf(w, "model\tprovider\tevents\tinput tokens\toutput tokens\n")
	for _, m := range seen {
		if m.Local == 0 {
			continue // every event carries its client's cost
		}
		if _, ok := table.Lookup(m.Model, m.Provider, now); ok {
			continue
		}
		missing++
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\n", m.Model, m.Provider, m.Local, m.LocalInputTokens, m.LocalOutputTokens)
	}
	if missing == 0 {
		fmt.Fprintln(out, "every model seen in the last 30 days has a price")
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fmt.Errorf("%s seen in the last 30 days without a price: add them to prices or price_catalog, then run aispend reprice", format.Counted(int64(missing), "model"))
}
