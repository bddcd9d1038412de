package pgquery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

var (
	qChargebackClaim  = q("chargeback_claim")
	qChargebackLock   = q("chargeback_lock")
	qChargebackSent   = q("chargeback_sent")
	qChargebackFailed = q("chargeback_failed")
)

// SendStatement sends an owner's chargeback statement of a month at most once
// (artifact.StatementStore): it records the statement (chargeback_claim.sql), then sends it as
// every ledger row is sent (sendLocked: under its row lock, the outcome recorded). It returns
// false and no error when the statement was sent already or another run is sending it; a send
// error is returned, and the statement stays pending for the next run.
func (s *Store) SendStatement(ctx context.Context, o report.Owner, month, recipient, messageID string, send func(context.Context) error) (bool, error) {
	key := []any{o.By.String(), o.Value, month}
	what := "chargeback statement " + o.String() + " " + month
	if _, err := s.pool.Exec(ctx, qChargebackClaim, o.By.String(), o.Value, month, recipient, messageID); err != nil {
		return false, fmt.Errorf("record %s: %w", what, err)
	}
	return s.sendLocked(ctx, what, key, qChargebackLock, qChargebackSent, qChargebackFailed,
		func(rows pgx.Rows) (bool, error) {
			found := rows.Next()
			rows.Close()
			return found, rows.Err()
		}, send)
}
