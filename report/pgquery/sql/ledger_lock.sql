-- ledger_lock: locks one pending alert for sending. SKIP LOCKED: when another run holds the row
-- (it is sending it now) this returns nothing and the caller moves on; a row already sent
-- returns nothing too. The lock is held until the caller's transaction ends.
-- $1 budget, $2 period start, $3 threshold, $4 kind.
SELECT budget, period_start, threshold, kind, period_kind, period_end, severity, spent,
       amount, projected, status, attempts, coalesce(last_error, ''), message_id,
       created_at, last_attempt_at, sent_at
FROM alert_ledger
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND status = 'pending'
FOR UPDATE SKIP LOCKED
