package pgquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Anomaly detection's hourly aggregate and the anomaly ledger (report.AnomalyStore; migration
// 00021).

var (
	qAnomalyHoursTodo   = q("anomaly_hours_todo")
	qAnomalyHoursDelete = q("anomaly_hours_delete")
	qAnomalyHoursTrim   = q("anomaly_hours_trim")
	qAnomalyHoursStale  = q("anomaly_hours_stale")
	qAnomalySpend       = q("anomaly_spend")
	qAnomalyDrivers     = strings.Replace(stripComments(q("anomaly_drivers")), "/*scope*/", scopeAt(2), 1)
	qAnomalyClaim       = q("anomaly_claim")
	qAnomalyDelivery    = q("anomaly_delivery_claim")
	qAnomalyPending     = q("anomaly_pending")
	qAnomalyLock        = q("anomaly_lock")
	qAnomalySent        = q("anomaly_sent")
	qAnomalyFailed      = q("anomaly_failed")
	qAnomalyStale       = q("anomaly_stale")
	qAnomalyList        = q("anomaly_list")
)

var _ report.AnomalyStore = (*Store)(nil)

// hourlyKeep is how long the hourly aggregate is kept: the oldest baseline window of a day
// window starts 29 days before the run, plus a margin for a run that reports late.
const hourlyKeep = 35 * 24 * time.Hour

// errDryRun rolls back what a dry run's transaction wrote.
var errDryRun = errors.New("dry run")

// AnomalySpend implements report.AnomalyStore. The hours to build are built under the
// aggregates lock, so that no refresh consumes change marks meanwhile: an hour built here holds
// every event committed before its statement, and a later change leaves a mark whose consumption
// makes the hour be built again (anomaly_hours_stale.sql).
func (s *Store) AnomalySpend(ctx context.Context, hours []time.Time, keys, tagKeys []string, loc *time.Location, dryRun bool) (map[time.Time]map[report.ScopeValue]decimal.Decimal, time.Time, error) {
	out := map[time.Time]map[report.ScopeValue]decimal.Decimal{}
	var history time.Time
	if tagKeys == nil {
		tagKeys = []string{}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, aggregatesLock); err != nil {
			return fmt.Errorf("lock the aggregates: %w", err)
		}
		if len(hours) > 0 {
			if _, err := tx.Exec(ctx, qAnomalyHoursTrim, hours[len(hours)-1].Add(-hourlyKeep)); err != nil {
				return fmt.Errorf("trim the hourly aggregate: %w", err)
			}
		}
		rows, err := tx.Query(ctx, qAnomalyHoursTodo, hours, tagKeys)
		if err != nil {
			return fmt.Errorf("list the hours to build: %w", err)
		}
		todo, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return fmt.Errorf("list the hours to build: %w", err)
		}
		insert, args, err := s.anomalyHoursInsert(ctx, tx, len(tagKeys), len(todo) > 0)
		if err != nil {
			return err
		}
		// One statement per run of consecutive hours: each reads one time range of events.
		for i := 0; i < len(todo); {
			j := i + 1
			for j < len(todo) && todo[j].Equal(todo[j-1].Add(time.Hour)) {
				j++
			}
			from, to := todo[i], todo[j-1].Add(time.Hour)
			if _, err := tx.Exec(ctx, qAnomalyHoursDelete, from, to); err != nil {
				return fmt.Errorf("build the hourly aggregate: %w", err)
			}
			if _, err := tx.Exec(ctx, insert, append([]any{from, to, tagKeys}, args...)...); err != nil {
				return fmt.Errorf("build the hourly aggregate: %w", err)
			}
			i = j
		}
		var from time.Time // the earliest hour asked for: history is compared with no earlier one
		if len(hours) > 0 {
			from = slices.MinFunc(hours, time.Time.Compare)
		}
		if history, err = firstEvent(ctx, tx, loc, from); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, qAnomalySpend, hours, keys)
		if err != nil {
			return fmt.Errorf("read the hourly aggregate: %w", err)
		}
		var h time.Time
		var sv report.ScopeValue
		var cost decimal.Decimal
		_, err = pgx.ForEachRow(rows, []any{&h, &sv.Scope, &sv.Value, &cost}, func() error {
			h = h.UTC()
			if out[h] == nil {
				out[h] = map[report.ScopeValue]decimal.Decimal{}
			}
			out[h][sv] = cost
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the hourly aggregate: %w", err)
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return out, history, err
}

// AnomalyDrivers implements report.AnomalyStore.
func (s *Store) AnomalyDrivers(ctx context.Context, scope report.Scope, windows []report.Window) ([][]report.DriverSpend, error) {
	starts, ends := make([]time.Time, len(windows)), make([]time.Time, len(windows))
	for i, w := range windows {
		starts[i], ends[i] = w.Start, w.End
	}
	rows, err := s.pool.Query(ctx, qAnomalyDrivers, append([]any{starts, ends}, scopeArgs(scope)...)...)
	if err != nil {
		return nil, fmt.Errorf("read anomaly drivers of %s: %w", scope, err)
	}
	out := make([][]report.DriverSpend, len(windows))
	var i int
	var d report.DriverSpend
	_, err = pgx.ForEachRow(rows, []any{&i, &d.UserID, &d.Model, &d.Service, &d.Cost}, func() error {
		out[i-1] = append(out[i-1], d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read anomaly drivers of %s: %w", scope, err)
	}
	return out, nil
}

func anomalyKey(a report.Anomaly) []any {
	return []any{a.Scope, a.Value, string(a.Window.Kind), a.Window.Start}
}

// ClaimAnomaly implements report.AnomalyStore: the anomaly and its deliveries in one transaction.
func (s *Store) ClaimAnomaly(ctx context.Context, a report.Anomaly, channels []string, stale bool) (bool, error) {
	drivers, err := json.Marshal(a.Drivers)
	if err != nil {
		return false, fmt.Errorf("claim anomaly %s: %w", a.Key(), err)
	}
	if channels == nil {
		channels = []string{}
	}
	var claimed bool
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, qAnomalyClaim, a.Scope, a.Value, string(a.Window.Kind), a.Window.Start, a.Window.End,
			a.Actual, a.Usual, string(a.Baseline), a.Samples, drivers)
		if err != nil {
			return err
		}
		claimed = tag.RowsAffected() == 1
		_, err = tx.Exec(ctx, qAnomalyDelivery, append(anomalyKey(a), channels, stale)...)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim anomaly %s: %w", a.Key(), err)
	}
	return claimed, nil
}

// scanAnomaly reads the anomaly columns of anomaly_pending.sql and anomaly_list.sql and one more.
func scanAnomalies(rows pgx.Rows, loc *time.Location, extra func(*report.Anomaly, string)) ([]report.Anomaly, error) {
	var out []report.Anomaly
	var a report.Anomaly
	var kind, base, more string
	var drivers []byte
	var start, end pgtype.Timestamptz
	_, err := pgx.ForEachRow(rows, []any{&a.Scope, &a.Value, &kind, &start, &end, &a.Actual, &a.Usual, &base, &a.Samples, &drivers, &more}, func() error {
		b := a
		b.Window = report.Window{Kind: report.WindowKind(kind), Start: start.Time.In(loc), End: end.Time.In(loc)}
		b.Baseline = report.BaselineKind(base)
		b.Drivers = nil
		if err := json.Unmarshal(drivers, &b.Drivers); err != nil {
			return err
		}
		extra(&b, more)
		out = append(out, b)
		return nil
	})
	return out, err
}

// PendingAnomalies implements report.AnomalyStore.
func (s *Store) PendingAnomalies(ctx context.Context, loc *time.Location) ([]report.AnomalyDelivery, error) {
	rows, err := s.pool.Query(ctx, qAnomalyPending)
	if err != nil {
		return nil, fmt.Errorf("list pending anomaly deliveries: %w", err)
	}
	var channels []string
	as, err := scanAnomalies(rows, loc, func(_ *report.Anomaly, c string) { channels = append(channels, c) })
	if err != nil {
		return nil, fmt.Errorf("list pending anomaly deliveries: %w", err)
	}
	out := make([]report.AnomalyDelivery, len(as))
	for i := range as {
		out[i] = report.AnomalyDelivery{Anomaly: as[i], Channel: channels[i]}
	}
	return out, nil
}

// SendAnomaly implements report.AnomalyStore, as SendDelivery does for budget alerts.
func (s *Store) SendAnomaly(ctx context.Context, a report.Anomaly, channel string, send func(context.Context) error) (bool, error) {
	key := append(anomalyKey(a), channel)
	return s.sendLocked(ctx, "anomaly "+a.Key()+" to "+channel, key, qAnomalyLock, qAnomalySent, qAnomalyFailed,
		func(rows pgx.Rows) (bool, error) {
			found := rows.Next()
			rows.Close()
			return found, rows.Err()
		}, send)
}

// StaleAnomaly implements report.AnomalyStore.
func (s *Store) StaleAnomaly(ctx context.Context, a report.Anomaly, channel string) (bool, error) {
	tag, err := s.pool.Exec(ctx, qAnomalyStale, append(anomalyKey(a), channel)...)
	if err != nil {
		return false, fmt.Errorf("record stale anomaly delivery %s to %s: %w", a.Key(), channel, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Anomalies implements report.AnomalyStore.
func (s *Store) Anomalies(ctx context.Context, from, to time.Time, loc *time.Location) ([]report.Anomaly, error) {
	rows, err := s.pool.Query(ctx, qAnomalyList, from, to)
	if err != nil {
		return nil, fmt.Errorf("list anomalies: %w", err)
	}
	out, err := scanAnomalies(rows, loc, func(a *report.Anomaly, status string) { a.Status = status })
	if err != nil {
		return nil, fmt.Errorf("list anomalies: %w", err)
	}
	return out, nil
}

// staleHourly makes the hourly aggregate of every hour the consumed change marks touched be
// rebuilt when anomaly detection next reads it (anomaly_hours_stale.sql): part of every refresh.
func staleHourly(ctx context.Context, tx pgx.Tx, staleHours []time.Time, inserts []insertMark) error {
	hours := append([]time.Time(nil), staleHours...)
	for _, m := range inserts {
		hours = append(hours, m.hour)
	}
	if _, err := tx.Exec(ctx, qAnomalyHoursStale, hours); err != nil {
		return fmt.Errorf("mark changed hours of the hourly aggregate: %w", err)
	}
	return nil
}

// anomalyHoursInsert is anomaly_hours_insert.sql for n tag keys, and its arguments after the
// range and keys: none on plain PostgreSQL; on Citus, when some hour is to be built, the
// snapshot of tx once the writers of the events it holds are visible on every worker
// (marksBarrier), so that an hour holds exactly what its consumed marks stand for.
func (s *Store) anomalyHoursInsert(ctx context.Context, tx pgx.Tx, n int, building bool) (string, []any, error) {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return "", nil, err
	}
	if !distributed || !building {
		return tagGrouped(q("anomaly_hours_insert"), n, 3, false, 0), nil, nil
	}
	snap, err := marksBarrier(ctx, tx)
	if err != nil {
		return "", nil, err
	}
	return tagGrouped(q("anomaly_hours_insert"), n, 3, true, 4), []any{snap}, nil
}
