package main

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// EnforceConfig is a budget's enforce block: the policy POST /v1/decide applies to it.
type EnforceConfig struct {
	// DegradeAt and DenyAt are percent of the budget (or of the entity's envelope); 0 leaves
	// the step out.
	DegradeAt int `yaml:"degrade_at"`
	// DegradeTo maps a requested model to the cheaper one answered when degrading.
	DegradeTo map[string]string `yaml:"degrade_to"`
	DenyAt    int               `yaml:"deny_at"`
}

// DecideConfig configures POST /v1/decide: how each collector keeps the spend of the enforced
// budgets in memory, and what it answers when that state is too old.
type DecideConfig struct {
	// Refresh is how often the spend is re-read from PostgreSQL in the background.
	Refresh time.Duration `yaml:"refresh"`
	// MaxStaleness is the age of the last successful read past which OnStale applies.
	MaxStaleness time.Duration `yaml:"max_staleness"`
	// OnStale is the answer past MaxStaleness: allow (fail open, the default) or deny.
	OnStale string `yaml:"on_stale"`
	// EstimateTTL is how long an allowed request's estimate counts against its budgets when
	// its event does not arrive.
	EstimateTTL time.Duration `yaml:"estimate_ttl"`
	// MaxHeld is the most estimates a collector holds; past it the oldest stops counting early.
	MaxHeld int `yaml:"max_held"`
}

func defaultDecide() DecideConfig {
	return DecideConfig{Refresh: 2 * time.Second, MaxStaleness: 30 * time.Second, OnStale: "allow", EstimateTTL: 5 * time.Minute, MaxHeld: 1_000_000}
}

// envelope sets b's per, overrides and enforce block from the budget's configuration, and
// returns the problems of those keys that report.Budget.Validate cannot see (key is the
// budget's label in problems).
func (bc BudgetConfig) envelope(b *report.Budget, key string) []string {
	var problems []string
	per, err := report.ParsePer(bc.Per)
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s.per: %v", key, err))
	}
	b.Per = per
	if len(bc.Overrides) > 0 {
		b.Overrides = make(map[string]decimal.Decimal, len(bc.Overrides))
		for k, v := range bc.Overrides {
			b.Overrides[k] = v.Decimal
		}
	}
	if e := bc.Enforce; e != nil {
		b.Enforce = &report.Enforce{DegradeAt: e.DegradeAt, DenyAt: e.DenyAt, DegradeTo: maps.Clone(e.DegradeTo)}
	}
	return problems
}

// checkDecide checks the decide settings, and that every model an enforce block degrades to
// has a price: a degraded request's estimate is priced like an event, and a model without a
// price would make every degraded request free in the eyes of its budget.
func (cfg *Config) checkDecide(p *problems) {
	d := cfg.Decide
	if d.Refresh < 100*time.Millisecond {
		p.add("decide.refresh", "%s: must be at least 100ms", d.Refresh)
	}
	if d.MaxStaleness <= d.Refresh {
		p.add("decide.max_staleness", "%s: must be longer than decide.refresh (%s), or every answer would be stale", d.MaxStaleness, d.Refresh)
	}
	switch d.OnStale {
	case "allow", "deny":
	default:
		p.add("decide.on_stale", "%q: want allow or deny", d.OnStale)
	}
	if d.EstimateTTL < time.Second {
		p.add("decide.estimate_ttl", "%s: must be at least 1s", d.EstimateTTL)
	}
	if d.MaxHeld < 1000 {
		p.add("decide.max_held", "%d: must be at least 1000", d.MaxHeld)
	}
	table, err := cfg.priceTable()
	if err != nil {
		return // the price rows' problems are listed by checkMoney
	}
	now := cfg.now()
	for i, bc := range cfg.Budgets {
		if bc.Enforce == nil {
			continue
		}
		provider := bc.Scope["provider"]
		for _, from := range slices.Sorted(maps.Keys(bc.Enforce.DegradeTo)) {
			to := bc.Enforce.DegradeTo[from]
			if to == "" {
				continue // refused by report.Budget.Validate
			}
			if _, ok := table.Lookup(to, provider, now); !ok {
				p.add(fmt.Sprintf("budgets[%d].enforce.degrade_to.%s", i, from), "%q has no price (in prices or price_catalog): a degraded request could not be counted against the budget", to)
			}
		}
	}
}
