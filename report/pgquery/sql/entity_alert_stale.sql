-- entity_alert_stale: records the pending entity alerts of a budget period as stale: their
-- period ended longer ago than the grace, and they are never sent.
-- $1 budget, $2 period start.
UPDATE entity_alerts SET status = 'stale'
WHERE budget = $1 AND period_start = $2 AND status = 'pending'
