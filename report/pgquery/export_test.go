package pgquery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

// ExplainPendingSpend runs EXPLAIN (ANALYZE, FORMAT JSON) of each read of what the pending
// marks add (pending_sums.sql, spend_batch.sql with pending_rows.sql) that BudgetSpend makes for
// scope over [start, end), in the same snapshot, settings and parameters, and returns the plans.
func (s *Store) ExplainPendingSpend(ctx context.Context, scope report.Scope, start, end time.Time) ([][]byte, error) {
	var plans [][]byte
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if err := rawReadSettings(ctx, tx); err != nil {
			return err
		}
		src, err := readSpendSources(ctx, tx)
		if err != nil {
			return err
		}
		pl, err := planSpend(ctx, tx, src, scope, start, end)
		if err != nil {
			return err
		}
		qs := []report.SpendQuery{{Scope: scope, Start: start, End: end}}
		for _, r := range pl.pending {
			rds, err := src.pendingReads(ctx, tx, r, []int{0})
			if err != nil {
				return err
			}
			for _, rd := range rds {
				sql, args := spendBatch(rd, qs)
				var plan []byte
				if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
					return err
				}
				plans = append(plans, plan)
			}
		}
		return nil
	})
	return plans, err
}

// ExplainApplyDeltas runs EXPLAIN (ANALYZE, FORMAT JSON) of apply_deltas.sql in time zone tz
// with every pending insert mark, as a refresh that consumes them would, and rolls it back.
func (s *Store) ExplainApplyDeltas(ctx context.Context, tz string) ([]byte, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, qRefreshSettings); err != nil {
		return nil, err
	}
	var hours []time.Time
	var xacts []int64
	var lo, hi int64
	if err := tx.QueryRow(ctx, `SELECT array_agg(hour), array_agg(xact), min(xact), max(xact)
		FROM (SELECT DISTINCT hour, xact FROM event_changes WHERE xact IS NOT NULL) m`).Scan(&hours, &xacts, &lo, &hi); err != nil {
		return nil, err
	}
	stmt := qApplyDeltas
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return nil, err
	}
	if distributed {
		// Citus 13.2.2 fails to EXPLAIN ANALYZE the whole statement ("bogus varno"): explain its
		// read of the events (the CTE ev, which the workers run), the part whose plan matters.
		head, _, ok := strings.Cut(qApplyDeltas, "), fine AS (")
		if !ok {
			return nil, fmt.Errorf("apply_deltas.sql has no CTE fine after ev")
		}
		stmt = head + ") SELECT count(*) FROM ev"
	}
	var plan []byte
	err = joiningMarks(ctx, tx, func() error {
		return tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+stmt, tz, hours, xacts, lo, hi).Scan(&plan)
	})
	return plan, err
}

// AfterConsume makes the next refresh call f once, right after it consumed the change marks
// and before it reads any events; the returned function removes f.
func AfterConsume(f func()) (restore func()) {
	var once sync.Once
	afterConsume = func() { once.Do(f) }
	return func() { afterConsume = func() {} }
}
