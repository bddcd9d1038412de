package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	//go:embed sql/partition_brin.sql
	qPartitionBRIN string
	//go:embed sql/partitions.sql
	qPartitions string
	//go:embed sql/lock_timeout.sql
	qLockTimeout string
	//go:embed sql/lock_timeout_reset.sql
	qLockTimeoutReset string
	//go:embed sql/partition_lock.sql
	qPartitionLock string
	//go:embed sql/partition_create.sql
	qPartitionCreate string
	//go:embed sql/partition_autosummarize.sql
	qPartitionAutosummarize string
	//go:embed sql/partition_detach.sql
	qPartitionDetach string
	//go:embed sql/partition_detach_plain.sql
	qPartitionDetachPlain string
	//go:embed sql/partition_finalize.sql
	qPartitionFinalize string
	//go:embed sql/partition_drop.sql
	qPartitionDrop string
)

// ddl is the statement of a DDL file with its header comment removed (it names the
// placeholders too) and each placeholder of pairs (placeholder, text) replaced.
func ddl(file string, pairs ...string) string {
	var keep []string
	for _, l := range strings.Split(file, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			keep = append(keep, l)
		}
	}
	return strings.NewReplacer(pairs...).Replace(strings.Join(keep, "\n"))
}

// EnsurePartitions creates the monthly partitions of events that cover [from, to] (UTC months).
// Partitions are created ahead of time so that an insert never fails for a missing one; a
// transaction-level advisory lock serialises concurrent callers, and lock_timeout keeps DDL from
// queueing behind long reports for ever.
func EnsurePartitions(ctx context.Context, pool *pgxpool.Pool, from, to time.Time) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qLockTimeout, "10s", true); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		if _, err := tx.Exec(ctx, qPartitionLock); err != nil {
			return fmt.Errorf("lock partitions: %w", err)
		}
		for _, m := range months(from, to) {
			name := PartitionName(m)
			create := ddl(qPartitionCreate, "/*partition*/", pgx.Identifier{name}.Sanitize(),
				"/*from*/", "'"+m.Format(time.RFC3339)+"'", "/*to*/", "'"+m.AddDate(0, 1, 0).Format(time.RFC3339)+"'")
			if _, err := tx.Exec(ctx, create); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
			var brin string
			switch err := tx.QueryRow(ctx, qPartitionBRIN, name).Scan(&brin); {
			case errors.Is(err, pgx.ErrNoRows): // set already
			case err != nil:
				return fmt.Errorf("find the BRIN index of %s: %w", name, err)
			default:
				if _, err := tx.Exec(ctx, ddl(qPartitionAutosummarize, "/*index*/", pgx.Identifier{brin}.Sanitize())); err != nil {
					return fmt.Errorf("set autosummarize on %s: %w", brin, err)
				}
			}
		}
		return nil
	})
}

// Partition is one monthly partition of events, named by PartitionName.
type Partition struct {
	Name       string
	Start, End time.Time // the month [Start, End), UTC
	// DetachPending: a DETACH … CONCURRENTLY was interrupted; its rows can no longer be read
	// through events, and DropPartition finishes it.
	DetachPending bool
}

// Querier is what ListPartitions reads with: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var partitionNameRe = regexp.MustCompile(`^events_(\d{4})_(\d{2})$`)

// ListPartitions lists the monthly partitions of events, oldest first. A partition of another
// name is not one of aispend's and is never listed (nor touched).
func ListPartitions(ctx context.Context, db Querier) ([]Partition, error) {
	rows, err := db.Query(ctx, qPartitions)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	var out []Partition
	var name string
	var pending bool
	_, err = pgx.ForEachRow(rows, []any{&name, &pending}, func() error {
		m := partitionNameRe.FindStringSubmatch(name)
		if m == nil {
			return nil
		}
		t, err := time.Parse("2006-01", m[1]+"-"+m[2])
		if err != nil {
			return nil
		}
		out = append(out, Partition{Name: name, Start: t, End: t.AddDate(0, 1, 0), DetachPending: pending})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return out, nil
}

// DropPartition detaches partition p of events (DETACH … CONCURRENTLY, outside any transaction
// so that inserts into other partitions never wait, or FINALIZE when an earlier detach was
// interrupted) and drops it, each waiting at most lockTimeout for its locks. On Citus, which has
// no DETACH … CONCURRENTLY, the detach is a plain one in the drop's transaction, which waits for
// the inserts in progress and holds back new ones for as long as it takes (a catalog change, no
// data moved). Its rows are
// gone afterwards: record the drop and build what must outlive them first.
func DropPartition(ctx context.Context, pool *pgxpool.Pool, p Partition, lockTimeout time.Duration) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, qLockTimeout, strconv.FormatInt(lockTimeout.Milliseconds(), 10)+"ms", false); err != nil {
		return fmt.Errorf("set lock timeout: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), qLockTimeoutReset)
	distributed, err := Distributed(ctx, conn)
	if err != nil {
		return err
	}
	if distributed && !p.DetachPending {
		// A plain detach can run in a transaction: detach and drop commit together, so an
		// interrupted retention leaves the partition attached, and the next run (which lists
		// the partitions of events) drops it. Detached alone, it would be forgotten.
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return detachDrop(ctx, tx, p, qPartitionDetachPlain) })
	}
	detach := qPartitionDetach
	if p.DetachPending {
		detach = qPartitionFinalize
	}
	return detachDrop(ctx, conn, p, detach)
}

// detachDrop runs the detach statement (a partition_detach*.sql or partition_finalize.sql) for
// p, then drops it.
func detachDrop(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, p Partition, detach string) error {
	ident := pgx.Identifier{p.Name}.Sanitize()
	if _, err := db.Exec(ctx, ddl(detach, "/*partition*/", ident)); err != nil {
		return fmt.Errorf("detach partition %s: %w", p.Name, err)
	}
	if _, err := db.Exec(ctx, ddl(qPartitionDrop, "/*partition*/", ident)); err != nil {
		return fmt.Errorf("drop partition %s: %w", p.Name, err)
	}
	return nil
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
	m := windowMonths(now, retentionDays)
	return EnsurePartitions(ctx, pool, m[0], m[len(m)-1])
}

// windowMonths are the months (UTC) whose partitions ensureWindow makes sure of.
func windowMonths(now time.Time, retentionDays int) []time.Time {
	return months(now.AddDate(0, 0, -retentionDays-1), now.AddDate(0, partitionsAhead, 0))
}

// months are the starts of the UTC months that cover [from, to].
func months(from, to time.Time) []time.Time {
	var out []time.Time
	for m := monthStart(from); !m.After(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m)
	}
	return out
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
