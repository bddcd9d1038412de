package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pgstore"
)

// repriceEvents prices the stored unpriced events that the configured price table and rates
// now cover. Every batch run does it first, so that reports count what became priceable.
func repriceEvents(ctx context.Context, cfg *Config, pool *pgxpool.Pool, log *slog.Logger) (int, error) {
	prices, err := cfg.priceTable()
	if err != nil {
		return 0, err
	}
	n, err := pgstore.Reprice(ctx, pool, prices)
	if err != nil {
		return n, fmt.Errorf("reprice events: %w", err)
	}
	if n > 0 {
		log.Info("priced events that were unpriced", "events", n)
	}
	return n, nil
}

func cmdReprice(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("reprice", "Prices stored unpriced events (unknown model, or a currency without a rate) with the configured\n"+
		"price table and rates, exactly as the collector would have. Events it still cannot price stay unpriced.\n"+
		"Every `aispend run` and scheduled job does this first; run it after adding a price to update reports now.")
	cfg, pool, err := env.migratedDB(ctx, fs, args)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := repriceEvents(ctx, cfg, pool, env.log)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%d events priced\n", n)
	return nil
}
