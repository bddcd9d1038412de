package pgstore

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

const repriceBatch = 5000

var (
	//go:embed sql/reprice_state.sql
	qRepriceState string
	//go:embed sql/reprice_state_save.sql
	qRepriceStateSave string
	//go:embed sql/reprice_unpriced.sql
	qRepriceUnpriced string
	//go:embed sql/reprice_unpriced_since.sql
	qRepriceUnpricedSince string
	//go:embed sql/reprice_update.sql
	qRepriceUpdate string
)

// RepricePass is what one Reprice did.
type RepricePass struct {
	Priced int // events it priced
	Read   int // unpriced events it read
	// Full: it read every unpriced event, because the price table changed since the last pass
	// (or a day passed, or there was none, or on Citus); else only those that arrived since.
	Full bool
}

// Reprice prices stored unpriced events with the given table, in the collector's exact way
// (collect.Row.Price). Events it still cannot price stay unpriced. It walks the unpriced events
// in batches, each updated in its own short transaction, and only ever fills a cost that is
// still NULL, so it is safe to run at any time, concurrently with ingest and with itself.
//
// A table that tried every unpriced event once leaves them unpriced for good: the pass after
// one with the same table (reprice_state, pricing.Table.Fingerprint) reads only the events
// written since, by transactions from the last pass's xmin on. Every batch run and budget check
// reprices, and pricing again each time the thousands of stored events of models no price
// names cost a budget check at 10 million events a month 33–54 ms of its 80. A pass over every
// unpriced event still happens when the table changes, and once a day, for what a fingerprint
// does not see (a new aispend version that prices differently). On Citus every pass reads them
// all: the transaction ids in the events' rows are not the coordinator's there.
func Reprice(ctx context.Context, pool *pgxpool.Pool, t *pricing.Table) (RepricePass, error) {
	distributed, err := Distributed(ctx, pool)
	if err != nil {
		return RepricePass{}, err
	}
	fp := t.Fingerprint()
	var since *int64 // the last pass's xmin, when only what arrived since is read
	var xmin int64
	var began time.Time
	var same *bool
	if err := pool.QueryRow(ctx, qRepriceState, fp).Scan(&since, &same, &xmin, &began); err != nil {
		return RepricePass{}, fmt.Errorf("read the last reprice: %w", err)
	}
	pass := RepricePass{Full: distributed || same == nil || !*same}
	if pass.Full {
		since = nil
	}
	if err := repriceBatches(ctx, pool, distributed, t, since, &pass); err != nil {
		return pass, err
	}
	if distributed {
		return pass, nil
	}
	var fullAt *time.Time
	if pass.Full {
		fullAt = &began
	}
	if _, err := pool.Exec(ctx, qRepriceStateSave, fp, xmin, fullAt); err != nil {
		return pass, fmt.Errorf("record the reprice: %w", err)
	}
	return pass, nil
}

// repriceBatches reads the unpriced events (with since, those of transactions from since on) a
// batch at a time and prices them, counting into pass.
func repriceBatches(ctx context.Context, pool *pgxpool.Pool, distributed bool, t *pricing.Table, since *int64, pass *RepricePass) error {
	var afterAt time.Time
	var afterXact int64
	afterID := ""
	for {
		var rows pgx.Rows
		var err error
		if since == nil {
			rows, err = pool.Query(ctx, qRepriceUnpriced, afterAt, afterID, repriceBatch)
		} else {
			rows, err = pool.Query(ctx, qRepriceUnpricedSince, *since, afterXact, afterID, repriceBatch)
		}
		if err != nil {
			return fmt.Errorf("query unpriced events: %w", err)
		}
		batch, lastXact, err := readUnpriced(rows)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		pass.Read += len(batch)
		n, err := updatePrices(ctx, pool, distributed, batch, t)
		pass.Priced += n
		if err != nil {
			return err
		}
		last := batch[len(batch)-1]
		afterAt, afterID, afterXact = last.OccurredAt, last.EventID, lastXact
	}
}

// readUnpriced reads a batch of reprice_unpriced*.sql, and the last row's ingest_xact.
func readUnpriced(rows pgx.Rows) ([]collect.Row, int64, error) {
	var batch []collect.Row
	var sent *string
	var xact *int64
	var lastXact int64
	var r collect.Row
	_, err := pgx.ForEachRow(rows, []any{&r.EventID, &r.OccurredAt, &r.Model, &r.Provider, &r.InputTokens, &r.OutputTokens,
		&r.CacheReadTokens, &r.CacheWriteTokens, &r.CacheWrite1hTokens, &r.ReasoningTokens, &sent, &r.SentCurrency, &xact}, func() error {
		row := r
		if sent != nil {
			d, err := decimal.NewFromString(*sent)
			if err != nil {
				return fmt.Errorf("parse sent cost of %s: %w", r.EventID, err)
			}
			row.SentCost = decimal.NewNullDecimal(d)
		}
		if xact != nil {
			lastXact = *xact
		}
		batch = append(batch, row)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read unpriced events: %w", err)
	}
	return batch, lastXact, nil
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
	tag, err := execMarking(ctx, pool, distributed, ats, qRepriceUpdate, ids, ats, costs, sources, versions, rates)
	if err != nil {
		return 0, fmt.Errorf("update prices: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
