package pgquery

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

// The delivery ledger of alert channels (report.DeliveryStore; migration 00017).

var (
	qChannelClaim    = q("channel_claim")
	qChannelResolves = q("channel_resolves")
	qChannelPending  = q("channel_pending")
	qChannelLock     = q("channel_lock")
	qChannelSent     = q("channel_sent")
	qChannelFailed   = q("channel_failed")
	qChannelStale    = q("channel_stale")
)

var _ report.DeliveryStore = (*Store)(nil)

func deliveryKey(k report.DeliveryKey) []any {
	return []any{k.Budget, k.PeriodStart, k.Threshold, string(k.Kind), k.Channel, k.Action}
}

// ClaimDelivery implements report.DeliveryStore.
func (s *Store) ClaimDelivery(ctx context.Context, b report.Breach, channel string, stale bool) (bool, error) {
	tag, err := s.pool.Exec(ctx, qChannelClaim, b.Budget, b.PeriodStart, b.Threshold, string(b.Kind), channel, stale)
	if err != nil {
		return false, fmt.Errorf("claim delivery of %s to channel %s: %w", b.Key(), channel, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimResolves implements report.DeliveryStore.
func (s *Store) ClaimResolves(ctx context.Context, channels []string, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, qChannelResolves, channels, now)
	if err != nil {
		return 0, fmt.Errorf("claim resolves: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// PendingDeliveries implements report.DeliveryStore.
func (s *Store) PendingDeliveries(ctx context.Context) ([]report.Delivery, error) {
	rows, err := s.pool.Query(ctx, qChannelPending)
	if err != nil {
		return nil, fmt.Errorf("list pending deliveries: %w", err)
	}
	defer rows.Close()
	var out []report.Delivery
	for rows.Next() {
		var d report.Delivery
		var kind, pkind, sev string
		if err := rows.Scan(&d.Budget, &d.PeriodStart, &d.Threshold, &kind, &d.Channel, &d.Action, &pkind, &d.PeriodEnd,
			&sev, &d.Status, &d.Attempts, &d.LastError, &d.CreatedAt, &d.LastAttemptAt, &d.SentAt, &d.Covered); err != nil {
			return nil, fmt.Errorf("list pending deliveries: %w", err)
		}
		d.Kind, d.PeriodKind, d.Severity = report.Kind(kind), report.PeriodKind(pkind), report.Severity(sev)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending deliveries: %w", err)
	}
	return out, nil
}

// SendDelivery implements report.DeliveryStore, as SendAlert does for emails.
func (s *Store) SendDelivery(ctx context.Context, k report.DeliveryKey, send func(context.Context) error) (bool, error) {
	return s.sendLocked(ctx, "delivery "+k.String(), deliveryKey(k), qChannelLock, qChannelSent, qChannelFailed,
		func(rows pgx.Rows) (bool, error) {
			found := rows.Next()
			rows.Close()
			return found, rows.Err()
		},
		func(ctx context.Context) error { return send(ctx) })
}

// StaleDelivery implements report.DeliveryStore.
func (s *Store) StaleDelivery(ctx context.Context, k report.DeliveryKey) (bool, error) {
	tag, err := s.pool.Exec(ctx, qChannelStale, deliveryKey(k)...)
	if err != nil {
		return false, fmt.Errorf("record stale delivery %s: %w", k.String(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// sendLocked is the one way a ledger row (an alert, a channel delivery) is sent: in a
// transaction, lock the pending row of key (lockQ, FOR UPDATE SKIP LOCKED; locked reads its
// rows and tells whether it got one), call send while holding the lock, and record the outcome
// (sentQ with key, or failedQ with key and the error text). The lock is held for the whole
// send, so a concurrent run skips the row; if this process dies mid-send the lock goes with its
// connection and the row stays pending for the next run. It returns false and no error when the
// row is not pending or another run holds it; a send error is returned.
func (s *Store) sendLocked(ctx context.Context, what string, key []any, lockQ, sentQ, failedQ string,
	locked func(pgx.Rows) (bool, error), send func(context.Context) error) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin %s: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, lockQ, key...)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", what, err)
	}
	found, err := locked(rows)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", what, err)
	}
	if !found {
		return false, nil
	}
	return recordSend(ctx, tx, send(ctx), sendOutcome{what: what, failed: failedQ, failedArgs: key, sent: sentQ, sentArgs: key})
}
