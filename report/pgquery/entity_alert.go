package pgquery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

var (
	qEntityAlertClaim   = q("entity_alert_claim")
	qEntityAlertLock    = q("entity_alert_lock")
	qEntityAlertDone    = q("entity_alert_done")
	qEntityAlertPeriods = q("entity_alert_periods")
	qEntityAlertStale   = q("entity_alert_stale")
	qEntityAlertList    = q("entity_alert_list")
)

var _ report.EntityAlertStore = (*Store)(nil)

// ClaimEntityAlerts implements report.EntityAlertStore: one statement for every key of the
// budget period (entity_alert_claim.sql).
func (s *Store) ClaimEntityAlerts(ctx context.Context, alerts []report.EntityAlert, status string) (int, error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	a0 := alerts[0]
	n := len(alerts)
	entities, thresholds, kinds, sevs := make([]string, n), make([]int32, n), make([]string, n), make([]string, n)
	spent, amounts := make([]string, n), make([]string, n)
	for i, a := range alerts {
		if a.Budget != a0.Budget || !a.PeriodStart.Equal(a0.PeriodStart) {
			return 0, fmt.Errorf("claim entity alerts: %s and %s are of different budget periods", a0.Key(), a.Key())
		}
		entities[i], thresholds[i], kinds[i], sevs[i] = a.Entity, int32(a.Threshold), string(a.Kind), string(a.Severity)
		spent[i], amounts[i] = a.Spent.String(), a.Amount.String()
	}
	rows, err := s.pool.Query(ctx, qEntityAlertClaim, a0.Budget, a0.PeriodStart, string(a0.PeriodKind), a0.PeriodEnd,
		entities, thresholds, kinds, sevs, spent, amounts, status)
	if err != nil {
		return 0, fmt.Errorf("claim entity alerts of %s: %w", a0.Budget, err)
	}
	claimed := 0
	for rows.Next() {
		claimed++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("claim entity alerts of %s: %w", a0.Budget, err)
	}
	return claimed, nil
}

// SendEntityAlerts implements report.EntityAlertStore: the pending rows are locked (SKIP LOCKED)
// in a transaction held while send runs, and their outcome recorded in it.
func (s *Store) SendEntityAlerts(ctx context.Context, budget string, periodStart time.Time, send func(context.Context, []report.EntityAlert) error) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin entity alerts of %s: %w", budget, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, qEntityAlertLock, budget, periodStart)
	if err != nil {
		return 0, fmt.Errorf("lock entity alerts of %s: %w", budget, err)
	}
	locked, err := scanEntityAlerts(rows, budget, periodStart, false)
	if err != nil {
		return 0, fmt.Errorf("lock entity alerts of %s: %w", budget, err)
	}
	if len(locked) == 0 {
		return 0, nil
	}
	sendErr := send(ctx, locked)
	entities, thresholds, kinds := make([]string, len(locked)), make([]int32, len(locked)), make([]string, len(locked))
	for i, a := range locked {
		entities[i], thresholds[i], kinds[i] = a.Entity, int32(a.Threshold), string(a.Kind)
	}
	var failure *string
	if sendErr != nil {
		msg := sendErr.Error()
		failure = &msg
	}
	// Record the outcome even when ctx was cancelled during the send.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := tx.Exec(rctx, qEntityAlertDone, budget, periodStart, entities, thresholds, kinds, failure); err != nil {
		return 0, errors.Join(sendErr, fmt.Errorf("record entity alerts of %s: %w", budget, err))
	}
	if err := tx.Commit(rctx); err != nil {
		return 0, errors.Join(sendErr, fmt.Errorf("record entity alerts of %s: %w", budget, err))
	}
	if sendErr != nil {
		return 0, sendErr
	}
	return len(locked), nil
}

// scanEntityAlerts reads entity_alert_lock.sql's or (withStatus) entity_alert_list.sql's rows.
func scanEntityAlerts(rows pgx.Rows, budget string, periodStart time.Time, withStatus bool) ([]report.EntityAlert, error) {
	var out []report.EntityAlert
	for rows.Next() {
		a := report.EntityAlert{Budget: budget, PeriodStart: periodStart, Status: report.StatusPending}
		var kind, pkind, sev string
		dest := []any{&a.Entity, &a.Threshold, &kind, &pkind, &a.PeriodEnd, &sev, &a.Spent, &a.Amount}
		if withStatus {
			dest = append(dest, &a.Status)
		}
		if err := rows.Scan(append(dest, &a.Attempts)...); err != nil {
			rows.Close()
			return nil, err
		}
		a.Kind, a.PeriodKind, a.Severity = report.Kind(kind), report.PeriodKind(pkind), report.Severity(sev)
		out = append(out, a)
	}
	return out, rows.Err()
}

// PendingEntityPeriods implements report.EntityAlertStore.
func (s *Store) PendingEntityPeriods(ctx context.Context) ([]report.EntityAlert, error) {
	rows, err := s.pool.Query(ctx, qEntityAlertPeriods)
	if err != nil {
		return nil, fmt.Errorf("list pending entity alerts: %w", err)
	}
	var a report.EntityAlert
	var pkind string
	var out []report.EntityAlert
	_, err = pgx.ForEachRow(rows, []any{&a.Budget, &a.PeriodStart, &pkind, &a.PeriodEnd}, func() error {
		a.PeriodKind = report.PeriodKind(pkind)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending entity alerts: %w", err)
	}
	return out, nil
}

// StaleEntityAlerts implements report.EntityAlertStore.
func (s *Store) StaleEntityAlerts(ctx context.Context, budget string, periodStart time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, qEntityAlertStale, budget, periodStart)
	if err != nil {
		return 0, fmt.Errorf("record stale entity alerts of %s: %w", budget, err)
	}
	return int(tag.RowsAffected()), nil
}

// EntityAlerts implements report.EntityAlertStore.
func (s *Store) EntityAlerts(ctx context.Context, budget string, periodStart time.Time) ([]report.EntityAlert, error) {
	rows, err := s.pool.Query(ctx, qEntityAlertList, budget, periodStart)
	if err != nil {
		return nil, fmt.Errorf("list entity alerts of %s: %w", budget, err)
	}
	out, err := scanEntityAlerts(rows, budget, periodStart, true)
	if err != nil {
		return nil, fmt.Errorf("list entity alerts of %s: %w", budget, err)
	}
	return out, nil
}
