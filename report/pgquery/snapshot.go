package pgquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/report"
)

var (
	qBuiltDays      = q("built_days")
	qSnapshotImport = stripComments(q("snapshot_import"))
)

// snapshot is report.EventSnapshot: the events exactly as a report counted them. Store.Report
// computes its totals in a REPEATABLE READ transaction and exports that transaction's snapshot;
// a second transaction imports it before the first one ends and stays open (read-only, holding
// no lock) until the outputs have read the events, so the workbook's Events sheet and the
// events CSV list exactly the events the totals add up: an event committed meanwhile is in
// neither (its change mark stays for the next run). On Citus the exported snapshot does not
// reach the workers: the rows are those whose inserting transaction the report's snapshot holds
// (visibleIn3), and an event updated since the report is read as updated.
//
// With a read replica (Store.Replica) the events are read there instead when the replica's own
// snapshot provably holds the same events of the period: every day of the period was aggregated
// at the same instant as the report saw it (so no change was consumed in between, and the
// replica has replayed the report's rebuild) and no change mark of the period is pending
// (so nothing changed since). A replica that lags or a period that changed falls back to the
// primary's snapshot, logged.
type snapshot struct {
	conn *pgxpool.Conn
	tx   pgx.Tx

	tz       string
	from, to time.Time               // the report's period
	built    map[time.Time]time.Time // aggregate_days of the period's days as the report saw them
	replica  *Store
	log      *slog.Logger
	// distributed: events is distributed by Citus, whose workers do not share the snapshot;
	// the events are read with the coordinator's snapshot as a filter (visibleIn3).
	distributed bool
}

var _ report.EventSnapshot = (*snapshot)(nil)

// importSnapshot opens a read-only transaction on a connection of pool with the snapshot id
// exported by another transaction that is still open.
func importSnapshot(ctx context.Context, pool *pgxpool.Pool, id string) (*pgxpool.Conn, pgx.Tx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("acquire connection for the events snapshot: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, nil, fmt.Errorf("begin events snapshot: %w", err)
	}
	if _, err := tx.Exec(ctx, strings.Replace(qSnapshotImport, "/*id*/", literal(id), 1)); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		conn.Release()
		return nil, nil, fmt.Errorf("import events snapshot: %w", err)
	}
	return conn, tx, nil
}

// builtDays reads built_days.sql for the days of [from, to) in tz.
func builtDays(ctx context.Context, q querier, tz string, from, to time.Time) (map[time.Time]time.Time, error) {
	rows, err := q.Query(ctx, qBuiltDays, tz, dateOf(from), dateOf(to))
	if err != nil {
		return nil, fmt.Errorf("read aggregated days: %w", err)
	}
	out := map[time.Time]time.Time{}
	var day, at time.Time
	_, err = pgx.ForEachRow(rows, []any{&day, &at}, func() error {
		out[day] = at
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read aggregated days: %w", err)
	}
	return out, nil
}

// Close ends the snapshot; it is safe to call more than once.
func (s *snapshot) Close() {
	if s.tx == nil {
		return
	}
	_ = s.tx.Rollback(context.Background())
	s.conn.Release()
	s.tx, s.conn = nil, nil
}

// within runs fn in a savepoint of the snapshot's transaction, so that a failed read (a
// cancelled COPY, an error of emit) leaves the snapshot usable for the next one.
func (s *snapshot) within(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.tx == nil {
		return errors.New("events snapshot: already closed")
	}
	return pgx.BeginFunc(ctx, s.tx, fn)
}

// errReplicaDiffers says that the replica's snapshot does not hold the report's events.
var errReplicaDiffers = errors.New("replica differs")

// onReplica runs fn in a REPEATABLE READ snapshot of the replica after checking that it holds
// the same events of the period as the report's; errReplicaDiffers (fn not called) otherwise.
func (s *snapshot) onReplica(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.replica.readSnapshot(ctx, func(tx pgx.Tx) error {
		if reason, err := s.differs(ctx, tx); err != nil || reason != "" {
			if err == nil {
				s.log.Info("events read from the primary: the replica does not hold the report's events yet", "reason", reason)
				err = errReplicaDiffers
			}
			return err
		}
		return fn(tx)
	})
}

// differs says why tx's snapshot may hold other events of the period than the report's ("" when
// it holds the same).
func (s *snapshot) differs(ctx context.Context, tx pgx.Tx) (string, error) {
	built, err := builtDays(ctx, tx, s.tz, s.from, s.to)
	if err != nil {
		return "", err
	}
	for d, at := range s.built {
		if b, ok := built[d]; !ok || !b.Equal(at) {
			return "day " + d.Format(time.DateOnly) + " aggregated at another time", nil
		}
	}
	if len(built) != len(s.built) {
		return "other days aggregated", nil
	}
	var pending bool
	if err := tx.QueryRow(ctx, qPendingInRange, s.from, s.to).Scan(&pending); err != nil {
		return "", fmt.Errorf("read pending changes: %w", err)
	}
	if pending {
		return "events of the period changed", nil
	}
	return "", nil
}

// read runs fn where the report's events are: on the replica when it holds them, else in the
// primary's imported snapshot. fn must not have emitted anything when it fails on the replica
// with errReplicaDiffers (the check comes first).
func (s *snapshot) read(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.replica != nil {
		err := s.onReplica(ctx, fn)
		if !errors.Is(err, errReplicaDiffers) {
			return err
		}
	}
	return s.within(ctx, fn)
}

// Events implements report.EventSnapshot.
func (s *snapshot) Events(ctx context.Context, from, to time.Time, emit func(report.Event) error) error {
	return unwrapEmit(s.read(ctx, func(tx pgx.Tx) error { return readEvents(ctx, tx, s.distributed, from, to, emit) }))
}

// ScopedEvents calls emit for the events of [from, to) that match sc (a chargeback owner's:
// artifact.ScopedEventSource), oldest first, in the report's snapshot on the primary: the
// replica's check covers the report's period only, and a statement may read the month before.
func (s *snapshot) ScopedEvents(ctx context.Context, from, to time.Time, sc report.Scope, emit func(report.Event) error) error {
	return unwrapEmit(s.within(ctx, func(tx pgx.Tx) error {
		return readEventsOf(ctx, tx, s.distributed, qScopedEvents, qScopedEventsCitus, scopeArgs(sc), from, to, emit)
	}))
}

// RawEvents is Store.RawEvents in the snapshot (artifact.RawEventSource).
func (s *snapshot) RawEvents(ctx context.Context, from, to time.Time, emit func(*report.RawEvent) error) error {
	return unwrapEmit(s.read(ctx, func(tx pgx.Tx) error { return readRawEvents(ctx, tx, s.distributed, from, to, emit) }))
}
