-- entity_alert_periods: the budget periods that have pending entity alerts: what a run sends
-- (or records as stale) besides the periods it evaluates, so that a failed send is retried.
SELECT DISTINCT budget, period_start, period_kind, period_end
FROM entity_alerts
WHERE status = 'pending'
ORDER BY budget, period_start
