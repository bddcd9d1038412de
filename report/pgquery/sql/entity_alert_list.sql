-- entity_alert_list: the entity alerts of one budget period, every status.
-- $1 budget, $2 period start.
SELECT entity, threshold, kind, period_kind, period_end, severity, spent, amount, status, attempts
FROM entity_alerts
WHERE budget = $1 AND period_start = $2
ORDER BY entity, threshold, kind
