-- ledger_pending: the alerts claimed but not yet sent, oldest first, including claims left by
-- earlier runs whose send failed or which stopped before sending.
-- Returns the ledger columns (see ledger_columns in query.go).
SELECT budget, period_start, threshold, kind, period_kind, period_end, severity, spent,
       amount, projected, status, attempts, coalesce(last_error, ''), message_id,
       created_at, last_attempt_at, sent_at
FROM alert_ledger
WHERE status = 'pending'
ORDER BY created_at, budget, period_start, threshold, kind
