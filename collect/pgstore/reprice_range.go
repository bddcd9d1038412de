package pgstore

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

var (
	//go:embed sql/reprice_range_select.sql
	repriceRangeSelectSQL string
	//go:embed sql/reprice_range_update.sql
	repriceRangeUpdateSQL string
	//go:embed sql/reprice_start.sql
	repriceStartSQL string
	//go:embed sql/reprice_finish.sql
	repriceFinishSQL string
	//go:embed sql/models_seen.sql
	modelsSeenSQL string
)

// RepriceModel is what re-pricing a range does to one model and provider: its events whose cost
// aispend computes, how many of them change, and their total before and after (unpriced events
// count as 0).
type RepriceModel struct {
	Model, Provider      string
	Events, Changed      int64
	Before, After        decimal.Decimal
	Unpriced             int64 // events still unpriced after
	VersionsBefore       []string
	VersionsAfter        []string
	versionsB, versionsA map[string]bool
}

// RepriceResult is the outcome of RepriceRange.
type RepriceResult struct {
	ID      int64 // the reprices row; 0 for a dry run
	Models  []RepriceModel
	Changed int64 // events updated (a dry run: events that would be)
}

// RepriceRange recomputes, from the table, the cost of every event in [from, to) whose cost
// aispend computed or could not compute (never a cost the client sent; an event the table cannot
// price keeps the cost it has), and reports per model
// the totals before and after. With apply, it updates the events whose price changes, in
// batches of short transactions, and records each batch in the reprices and reprice_models
// tables in the same transaction; the events' trigger (on Citus the batch itself) marks their
// hours for re-aggregation.
// Without apply it writes nothing.
func RepriceRange(ctx context.Context, pool *pgxpool.Pool, t *pricing.Table, from, to time.Time, apply bool) (RepriceResult, error) {
	var res RepriceResult
	distributed, err := Distributed(ctx, pool)
	if err != nil {
		return res, err
	}
	if apply {
		if err := pool.QueryRow(ctx, repriceStartSQL, from, to).Scan(&res.ID); err != nil {
			return res, fmt.Errorf("record reprice: %w", err)
		}
	}
	models := repriceModels{}
	afterAt, afterID := time.Time{}, ""
	for {
		batch, olds, err := readRepriceBatch(ctx, pool, from, to, afterAt, afterID)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			break
		}
		var upd repriceUpdate
		for i := range batch {
			row, o := &batch[i], &olds[i]
			reprice(row, *o, t)
			if models.count(row, *o) {
				res.Changed++
				upd.add(row, o)
			}
		}
		if apply && len(upd.ids) > 0 {
			if _, err := execMarking(ctx, pool, distributed, upd.ats, repriceRangeUpdateSQL, res.ID, upd.ids, upd.ats, upd.costs, upd.sources, upd.versions, upd.rates, upd.oldCosts, upd.oldVersions); err != nil {
				return res, fmt.Errorf("update prices: %w", err)
			}
		}
		last := batch[len(batch)-1]
		afterAt, afterID = last.OccurredAt, last.EventID
	}
	if apply {
		// The record counts what the database changed: an event changed by someone else between
		// the read and the update keeps its price and is not counted.
		if err := pool.QueryRow(ctx, repriceFinishSQL, res.ID).Scan(&res.Changed); err != nil {
			return res, fmt.Errorf("finish reprice record: %w", err)
		}
	}
	res.Models = models.list()
	return res, nil
}

// storedPrice is an event's price as stored before re-pricing (text, exact; nil: NULL).
type storedPrice struct {
	cost, rate *string
	source     string
	version    string
}

// readRepriceBatch reads the next batch of events to re-price, after (afterAt, afterID).
func readRepriceBatch(ctx context.Context, pool *pgxpool.Pool, from, to, afterAt time.Time, afterID string) ([]collect.Row, []storedPrice, error) {
	rows, err := pool.Query(ctx, repriceRangeSelectSQL, from, to, afterAt, afterID, repriceBatch)
	if err != nil {
		return nil, nil, fmt.Errorf("query events to reprice: %w", err)
	}
	var batch []collect.Row
	var olds []storedPrice
	var r collect.Row
	var o storedPrice
	_, err = pgx.ForEachRow(rows, []any{&r.EventID, &r.OccurredAt, &r.Model, &r.Provider, &r.InputTokens, &r.OutputTokens,
		&r.CacheReadTokens, &r.CacheWriteTokens, &r.CacheWrite1hTokens, &r.ReasoningTokens, &o.cost, &o.source, &o.version, &o.rate}, func() error {
		batch, olds = append(batch, r), append(olds, o)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read events to reprice: %w", err)
	}
	return batch, olds, nil
}

// reprice prices row from t; with no price now (a row removed, a catalog without the model) the
// event keeps the cost it has rather than turn unpriced.
func reprice(row *collect.Row, o storedPrice, t *pricing.Table) {
	row.Price(t)
	if row.Cost.Valid || o.cost == nil {
		return
	}
	row.Cost = decimal.NewNullDecimal(decimal.RequireFromString(*o.cost))
	row.CostSource, row.PriceVersion = o.source, o.version
	if o.rate != nil {
		row.FXRate = decimal.NewNullDecimal(decimal.RequireFromString(*o.rate))
	}
}

// repriceModels are the totals of a re-pricing per model and provider.
type repriceModels map[[2]string]*RepriceModel

// count adds the re-priced row, stored before as o, to its model's totals and tells whether its
// price changed.
func (ms repriceModels) count(row *collect.Row, o storedPrice) bool {
	m := ms[[2]string{row.Model, row.Provider}]
	if m == nil {
		m = &RepriceModel{Model: row.Model, Provider: row.Provider, versionsB: map[string]bool{}, versionsA: map[string]bool{}}
		ms[[2]string{row.Model, row.Provider}] = m
	}
	m.Events++
	before := decimal.Zero // unpriced counts as 0
	if o.cost != nil {
		before = decimal.RequireFromString(*o.cost)
	}
	m.Before = m.Before.Add(before)
	if row.Cost.Valid {
		m.After = m.After.Add(row.Cost.Decimal)
	} else {
		m.Unpriced++
	}
	if !changed(o.cost, o.rate, o.version, row) {
		return false
	}
	m.Changed++
	if o.version != "" {
		m.versionsB[o.version] = true
	}
	if row.PriceVersion != "" {
		m.versionsA[row.PriceVersion] = true
	}
	return true
}

// list is the models by model and provider, with their price versions.
func (ms repriceModels) list() []RepriceModel {
	var out []RepriceModel
	for _, m := range ms {
		m.VersionsBefore, m.VersionsAfter = keys(m.versionsB), keys(m.versionsA)
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Model < b.Model || a.Model == b.Model && a.Provider < b.Provider
	})
	return out
}

// repriceUpdate is the parameters of reprice_range_update.sql for the changed rows of a batch.
type repriceUpdate struct {
	ids, costs, sources, versions, rates, oldCosts, oldVersions []*string
	ats                                                         []time.Time
}

// add adds row, stored before as o; the pointers point into the batch, which outlives the update.
func (u *repriceUpdate) add(row *collect.Row, o *storedPrice) {
	u.ids, u.ats = append(u.ids, &row.EventID), append(u.ats, row.OccurredAt)
	u.sources, u.versions = append(u.sources, &row.CostSource), append(u.versions, &row.PriceVersion)
	u.costs, u.rates = append(u.costs, decString(row.Cost)), append(u.rates, decString(row.FXRate))
	u.oldCosts, u.oldVersions = append(u.oldCosts, o.cost), append(u.oldVersions, &o.version)
}

// changed tells whether a row's new price differs from the stored one.
func changed(oldCost, oldRate *string, oldVersion string, r *collect.Row) bool {
	if (oldCost != nil) != r.Cost.Valid || oldVersion != r.PriceVersion {
		return true
	}
	if oldCost != nil && !decimal.RequireFromString(*oldCost).Equal(r.Cost.Decimal) {
		return true
	}
	return (oldRate != nil) != r.FXRate.Valid || oldRate != nil && !decimal.RequireFromString(*oldRate).Equal(r.FXRate.Decimal)
}

func decString(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := d.Decimal.String()
	return &s
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ModelSeen is one model and provider with events in a period: all its events, the unpriced
// ones, and those whose cost aispend computes (the client sent none) with their tokens.
type ModelSeen struct {
	Model, Provider                     string
	Events, Unpriced, Local             int64
	LocalInputTokens, LocalOutputTokens int64
}

// ModelsSeen lists every model and provider with events since the given time.
func ModelsSeen(ctx context.Context, pool *pgxpool.Pool, since time.Time) ([]ModelSeen, error) {
	rows, err := pool.Query(ctx, modelsSeenSQL, since)
	if err != nil {
		return nil, fmt.Errorf("query models seen: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ModelSeen, error) {
		var m ModelSeen
		err := r.Scan(&m.Model, &m.Provider, &m.Events, &m.Unpriced, &m.Local, &m.LocalInputTokens, &m.LocalOutputTokens)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("read models seen: %w", err)
	}
	return out, nil
}
