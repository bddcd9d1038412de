package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

const repriceBatch = 5000

// Reprice prices stored unpriced events with the given table, in the collector's exact way
// (collect.Row.Price), and returns how many it priced. Events it still cannot price stay
// unpriced. It walks the unpriced events in (occurred_at, event_id) order in batches, each
// updated in its own short transaction, and only ever fills a cost that is still NULL, so it is
// safe to run at any time, concurrently with ingest and with itself.
func Reprice(ctx context.Context, pool *pgxpool.Pool, t *pricing.Table) (int, error) {
	distributed, err := Distributed(ctx, pool)
	if err != nil {
		return 0, err
	}
	priced := 0
	var afterAt time.Time
	afterID := ""
	for {
		rows, err := pool.Query(ctx, `
			SELECT event_id, occurred_at, model, provider, input_tokens, output_tokens,
			       cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
			       sent_cost::text, coalesce(sent_currency, '')
			FROM events
			WHERE cost IS NULL AND (occurred_at, event_id) > ($1, $2)
			ORDER BY occurred_at, event_id
			LIMIT $3`, afterAt, afterID, repriceBatch)
		if err != nil {
			return priced, fmt.Errorf("query unpriced events: %w", err)
		}
		var batch []collect.Row
		var sent *string
		var r collect.Row
		_, err = pgx.ForEachRow(rows, []any{&r.EventID, &r.OccurredAt, &r.Model, &r.Provider, &r.InputTokens, &r.OutputTokens,
			&r.CacheReadTokens, &r.CacheWriteTokens, &r.CacheWrite1hTokens, &r.ReasoningTokens, &sent, &r.SentCurrency}, func() error {
			row := r
			if sent != nil {
				d, err := decimal.NewFromString(*sent)
				if err != nil {
					return fmt.Errorf("parse sent cost of %s: %w", r.EventID, err)
				}
				row.SentCost = decimal.NewNullDecimal(d)
			}
			batch = append(batch, row)
			return nil
		})
		if err != nil {
			return priced, fmt.Errorf("read unpriced events: %w", err)
		}
		if len(batch) == 0 {
			return priced, nil
		}
		n, err := updatePrices(ctx, pool, distributed, batch, t)
		priced += n
		if err != nil {
			return priced, err
		}
		last := batch[len(batch)-1]
		afterAt, afterID = last.OccurredAt, last.EventID
	}
}

func updatePrices(ctx context.Context, pool *pgxpool.Pool, distributed bool, batch []collect.Row, t *pricing.Table) (int, error) {
	var ids, costs, sources, versions, rates []string
	var ats []time.Time
	for i := range batch {
		r := &batch[i]
		r.Price(t)
		if !r.Cost.Valid {
			continue
		}
		ids, ats = append(ids, r.EventID), append(ats, r.OccurredAt)
		costs, sources, versions = append(costs, r.Cost.Decimal.String()), append(sources, r.CostSource), append(versions, r.PriceVersion)
		rates = append(rates, r.FXRate.Decimal.String())
	}
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := execMarking(ctx, pool, distributed, ats, `
		UPDATE events e
		SET cost = u.cost, cost_source = u.source, price_version = NULLIF(u.version, ''), fx_rate = u.rate
		FROM unnest($1::text[], $2::timestamptz[], $3::text[]::numeric[], $4::text[], $5::text[], $6::text[]::numeric[])
		     AS u(event_id, occurred_at, cost, source, version, rate)
		WHERE e.event_id = u.event_id AND e.occurred_at = u.occurred_at AND e.cost IS NULL`,
		ids, ats, costs, sources, versions, rates)
	if err != nil {
		return 0, fmt.Errorf("update prices: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
