package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed sql/partition_brin.sql
var qPartitionBRIN string

// EnsurePartitions creates the monthly partitions of events that cover [from, to] (UTC months).
// Partitions are created ahead of time so that an insert never fails for a missing one; a
// transaction-level advisory lock serialises concurrent callers, and lock_timeout keeps DDL from
// queueing behind long reports for ever.
func EnsurePartitions(ctx context.Context, pool *pgxpool.Pool, from, to time.Time) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('aispend.partitions', 0))"); err != nil {
			return fmt.Errorf("lock partitions: %w", err)
		}
		for m := monthStart(from); !m.After(to); m = m.AddDate(0, 1, 0) {
			name := PartitionName(m)
			sql := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')",
				pgx.Identifier{name}.Sanitize(), m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
			// Summarize each block range of the BRIN index as soon as it is full (migration 00009).
			var brin string
			switch err := tx.QueryRow(ctx, qPartitionBRIN, name).Scan(&brin); {
			case errors.Is(err, pgx.ErrNoRows): // set already
			case err != nil:
				return fmt.Errorf("find the BRIN index of %s: %w", name, err)
			default:
				if _, err := tx.Exec(ctx, "ALTER INDEX "+pgx.Identifier{brin}.Sanitize()+" SET (autosummarize = on)"); err != nil {
					return fmt.Errorf("set autosummarize on %s: %w", brin, err)
				}
			}
		}
		return nil
	})
}

// partitionsAhead is how many months of partitions exist ahead of now, and
// partitionCheckEvery how often KeepPartitions makes sure they do: far more often than a month
// ends, so that an insert never finds its month missing.
const (
	partitionsAhead     = 3
	partitionCheckEvery = 6 * time.Hour
)

// ensureWindow creates the partitions of the accepted time window at now: the retention period
// (and a day, for events at its edge) back, partitionsAhead months ahead.
func ensureWindow(ctx context.Context, pool *pgxpool.Pool, retentionDays int, now time.Time) error {
	return EnsurePartitions(ctx, pool, now.AddDate(0, 0, -retentionDays-1), now.AddDate(0, partitionsAhead, 0))
}

// KeepPartitions creates the coming months' partitions well before they are needed, every
// partitionCheckEvery until ctx is done; a collector runs it for as long as it serves. Failures
// are logged and retried at the next check (the months ahead leave time to fix them).
func KeepPartitions(ctx context.Context, pool *pgxpool.Pool, retentionDays int, log *slog.Logger) {
	t := time.NewTicker(partitionCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := ensureWindow(ctx, pool, retentionDays, time.Now()); err != nil {
				log.Error("create partitions", "error", err)
			}
		}
	}
}

// PartitionName is the name of the partition holding the month that starts at m (UTC).
func PartitionName(m time.Time) string {
	return "events_" + m.UTC().Format("2006_01")
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
