-- ledger_range: the alerts of periods that overlap [from, to), for alert history and dry runs.
-- $1 from, $2 to (timestamptz).
-- Returns the ledger columns.
SELECT budget, period_start, threshold, kind, period_kind, period_end, severity, spent,
       amount, projected, status, attempts, coalesce(last_error, ''), message_id,
       created_at, last_attempt_at, sent_at
FROM alert_ledger
WHERE period_start < $2 AND period_end > $1
ORDER BY created_at, budget, period_start, threshold, kind
