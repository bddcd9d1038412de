package pgstore

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
)

var (
	//go:embed sql/distributed.sql
	qDistributed string
	//go:embed sql/mark_insert.sql
	qMarkInsert string
	//go:embed sql/mark_hours.sql
	qMarkHours string
)

// Distributed reports whether events is a Citus distributed table (distributed.sql). Then its
// writers write the change marks themselves (MarkHours, and the collector's insert path), which
// on plain PostgreSQL a statement trigger writes.
func Distributed(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (bool, error) {
	var d bool
	if err := db.QueryRow(ctx, qDistributed).Scan(&d); err != nil {
		return false, fmt.Errorf("tell whether events is distributed: %w", err)
	}
	return d, nil
}

// summedRows is the most rows of one statement whose sums a mark carries, as the trigger's
// (migration 00012): a bulk load's rows are read from the events instead.
const summedRows = 5000

type sumKey struct {
	hour                                    time.Time
	service, model, provider, orgID, userID string
}

type sum struct {
	cost               decimal.Decimal
	requests, unpriced int64
}

// markInserted writes in tx the change marks and sums of rows, which tx inserted into events
// in one statement (mark_insert.sql): on Citus, where no trigger writes them.
func markInserted(ctx context.Context, tx pgx.Tx, rows []*collect.Row) error {
	if len(rows) == 0 {
		return nil
	}
	perHour := map[time.Time]int64{}
	sums := map[sumKey]*sum{}
	summed := len(rows) <= summedRows
	for _, r := range rows {
		h := r.OccurredAt.UTC().Truncate(time.Hour)
		perHour[h]++
		if !summed {
			continue
		}
		k := sumKey{h, r.Service, r.Model, r.Provider, r.OrgID, r.UserID}
		s := sums[k]
		if s == nil {
			s = &sum{}
			sums[k] = s
		}
		s.requests++
		if r.Cost.Valid {
			s.cost = s.cost.Add(r.Cost.Decimal)
		} else {
			s.unpriced++
		}
	}
	var hours []time.Time
	var counts []int64
	for h, n := range perHour {
		hours, counts = append(hours, h), append(counts, n)
	}
	var sh []time.Time
	var service, model, provider, org, user, cost []string
	var requests, unpriced []int64
	for k, s := range sums {
		sh, service, model, provider = append(sh, k.hour), append(service, k.service), append(model, k.model), append(provider, k.provider)
		org, user, cost = append(org, k.orgID), append(user, k.userID), append(cost, s.cost.String())
		requests, unpriced = append(requests, s.requests), append(unpriced, s.unpriced)
	}
	if _, err := tx.Exec(ctx, qMarkInsert, hours, counts, summed, sh, service, model, provider, org, user, cost, requests, unpriced); err != nil {
		return fmt.Errorf("mark the inserted events: %w", err)
	}
	return nil
}

// MarkHours writes in tx the change marks of rows of events that tx updated or deleted, given
// the rows' occurred_at (mark_hours.sql): on Citus, where no trigger writes them, every writer
// that changes events calls it in the changing transaction. A mark of an hour none of whose
// rows changed costs a rebuild of its days, nothing more.
func MarkHours(ctx context.Context, tx pgx.Tx, at []time.Time) error {
	if len(at) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, qMarkHours, at); err != nil {
		return fmt.Errorf("mark the changed hours of events: %w", err)
	}
	return nil
}

// execMarking runs an update or delete of events by key, whose rows lie in the hours of at,
// and, where events is distributed, marks those hours in the same transaction (MarkHours).
func execMarking(ctx context.Context, pool *pgxpool.Pool, distributed bool, at []time.Time, sql string, args ...any) (pgconn.CommandTag, error) {
	if !distributed {
		return pool.Exec(ctx, sql, args...)
	}
	var tag pgconn.CommandTag
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if tag, err = tx.Exec(ctx, sql, args...); err != nil {
			return err
		}
		return MarkHours(ctx, tx, at)
	})
	return tag, err
}

//go:embed sql/mark_returning.sql
var qMarkReturning string

// InsertEvents runs insert, an INSERT into events (without RETURNING), with db (a pool, a
// connection or a transaction). Where events is distributed, the same statement writes the
// change marks and sums of the rows it inserted (mark_returning.sql), as the trigger does on plain
// PostgreSQL: the way for a bulk load or a hand-made insert to keep the aggregates exact on
// Citus.
func InsertEvents(ctx context.Context, db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, insert string, args ...any) error {
	distributed, err := Distributed(ctx, db)
	if err != nil {
		return err
	}
	if distributed {
		insert = ddl(qMarkReturning, "/*insert*/", insert)
	}
	if _, err := db.Exec(ctx, insert, args...); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}
