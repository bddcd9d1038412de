package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

const decidePrices = `fx: {USD: 1}
prices:
  - {model: big, from: 2025-01-01, input: 3, output: 15}
  - {model: small, from: 2025-01-01, input: 1, output: 5}
`

// Ensures an envelope budget with overrides and an enforce block loads into report.Budget as
// written: per, every override (0 included), the enforce steps and the degrade map.
func TestConfigEnvelopeLoads(t *testing.T) {
	cfg, err := loadConfig(writeYAML(t, decidePrices+`budgets:
  - name: per-user
    period: daily
    amount: 100
    per: tag:team
    overrides: {alice: 20.5, bob: 0}
    enforce: {degrade_at: 90, degrade_to: {big: small}, deny_at: 100}
decide: {refresh: 1s, max_staleness: 10s, on_stale: deny, estimate_ttl: 1m, max_held: 5000}
`), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := cfg.reportBudgets()
	if err != nil {
		t.Fatal(err)
	}
	b := bs[0]
	if b.Per != (report.Per{Field: report.PerTag, TagKey: "team"}) {
		t.Errorf("per %+v", b.Per)
	}
	if !b.Limit("alice").Equal(decimal.RequireFromString("20.5")) || !b.Limit("bob").IsZero() || !b.Limit("carol").Equal(decimal.NewFromInt(100)) {
		t.Errorf("limits alice %s bob %s carol %s", b.Limit("alice"), b.Limit("bob"), b.Limit("carol"))
	}
	if e := b.Enforce; e == nil || e.DegradeAt != 90 || e.DenyAt != 100 || e.DegradeTo["big"] != "small" {
		t.Errorf("enforce %+v", b.Enforce)
	}
	if d := cfg.Decide; d.Refresh != time.Second || d.MaxStaleness != 10*time.Second || d.OnStale != "deny" || d.EstimateTTL != time.Minute || d.MaxHeld != 5000 {
		t.Errorf("decide %+v", d)
	}
}

// Ensures every problem of envelopes and enforce blocks is refused at start-up, all listed at
// once, each naming its key: an unknown budget field, per on an unknown field, overrides without
// per, a negative override, channels on an envelope budget, degrade_to naming a model without a price, steps out of order, and
// bad decide settings.
func TestConfigEnvelopeRefusals(t *testing.T) {
	_, err := loadConfig(writeYAML(t, decidePrices+`budgets:
  - name: a
    amount: 100
    per: team
    limit_per_user: 5
  - name: b
    amount: 100
    overrides: {alice: 10}
  - name: c
    amount: 100
    per: user_id
    overrides: {alice: -1}
    enforce: {degrade_at: 90, degrade_to: {big: unknown-model}, deny_at: 100}
  - name: d
    amount: 100
    enforce: {degrade_at: 100, degrade_to: {big: small}, deny_at: 90}
  - name: e
    amount: 100
    enforce: {degrade_at: 80}
  - name: f
    amount: 100
    per: "tag:"
  - name: g
    amount: 100
    per: user_id
    channels: {default: [email]}
decide: {refresh: 5s, max_staleness: 5s, on_stale: maybe, max_held: 10}
`), envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a ConfigError", err)
	}
	for _, want := range []string{
		"budgets[0].limit_per_user: unknown", // refused by the file's reader, with its line
		`budgets[0] (a).per: "team" is not a field budgets can be per`,
		"budgets[1] (b).overrides: only a budget with per has overrides",
		"budgets[2] (c).overrides.alice: must be ≥ 0",
		`budgets[2].enforce.degrade_to.big: "unknown-model" has no price`,
		"budgets[3] (d).enforce.degrade_at: 100 must be below deny_at (90)",
		"budgets[4] (e).enforce.degrade_to: required with degrade_at",
		`budgets[5] (f).per: "tag:": want tag:<key>`,
		"budgets[6] (g).channels: a budget with per alerts by email only",
		"decide.max_staleness: 5s: must be longer than decide.refresh",
		`decide.on_stale: "maybe": want allow or deny`,
		"decide.max_held: 10: must be at least 1000",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant a problem %q", err, want)
		}
	}
}
