package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

// startDecider makes the collector's POST /v1/decide state from the enforced budgets and keeps
// it refreshed from PostgreSQL until ctx is done; nil when no budget is enforced.
func startDecider(ctx context.Context, cfg *Config, env *environment, pool *pgxpool.Pool, prices *pricing.Table) (*collect.Decider, error) {
	budgets, err := cfg.reportBudgets()
	if err != nil {
		return nil, err
	}
	d := collect.NewDecider(collect.DecideConfig{
		Budgets: budgets, Location: cfg.Location, Prices: prices, Source: cfg.store(pool),
		Refresh: cfg.Decide.Refresh, MaxStaleness: cfg.Decide.MaxStaleness, EstimateTTL: cfg.Decide.EstimateTTL,
		MaxHeld: cfg.Decide.MaxHeld, OnStale: cfg.Decide.OnStale, Now: cfg.now, Log: env.log,
	})
	if d != nil {
		go d.Run(ctx)
	}
	return d, nil
}
