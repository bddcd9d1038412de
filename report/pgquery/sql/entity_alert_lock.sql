-- entity_alert_lock: locks the pending entity alerts of one budget period for sending, until
-- the caller's transaction ends. SKIP LOCKED: the rows another run is sending now are left to
-- it, so no entity is named by two emails.
-- $1 budget, $2 period start.
SELECT entity, threshold, kind, period_kind, period_end, severity, spent, amount, attempts
FROM entity_alerts
WHERE budget = $1 AND period_start = $2 AND status = 'pending'
ORDER BY entity, threshold, kind
FOR UPDATE SKIP LOCKED
