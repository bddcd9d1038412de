package pgquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// CompactEvery is how often a collector merges the pending sums (KeepSumsCompact): often
// enough that a burst of small commits never leaves more than about a second of sums per
// transaction for a budget read to add up.
const CompactEvery = time.Second

// CompactSums merges the pending sums of committed transactions into one row per UTC hour and
// dimensions (sums_compact.sql) unless a refresh holds the aggregates lock, in which case it
// does nothing: the refresh consumes those sums anyway; nor when none is pending
// (sums_unmerged_first.sql). It returns how many sums were merged
// and into how many rows.
func (s *Store) CompactSums(ctx context.Context) (merged, into int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var held bool
		if err := tx.QueryRow(ctx, aggregatesTryLock).Scan(&held); err != nil || !held {
			return err
		}
		var first int64
		switch err := tx.QueryRow(ctx, qSumsUnmergedFirst).Scan(&first); {
		case errors.Is(err, pgx.ErrNoRows):
			return nil // nothing to merge
		case err != nil:
			return err
		}
		return tx.QueryRow(ctx, qSumsCompact, first).Scan(&merged, &into)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("merge pending sums: %w", err)
	}
	return merged, into, nil
}

// KeepSumsCompact runs CompactSums every CompactEvery until ctx is done; a collector runs it
// for as long as it serves, so that budget reads cost what is pending, not how it was
// committed. Failures are logged and retried at the next tick: unmerged sums are still exact,
// only slower to read.
func (s *Store) KeepSumsCompact(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := s.CompactSums(ctx); err != nil && ctx.Err() == nil {
				log.Error("merge pending sums", "error", err)
			}
		}
	}
}
