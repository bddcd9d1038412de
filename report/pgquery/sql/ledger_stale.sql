-- ledger_stale: records a pending alert as stale (never to be sent: its period ended longer ago
-- than alerts.grace). An alert sent or held meanwhile is left alone.
-- $1 budget, $2 period start, $3 threshold, $4 kind.
-- Returns one row when this call recorded it.
UPDATE alert_ledger
SET status = 'stale'
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND status = 'pending'
RETURNING budget
