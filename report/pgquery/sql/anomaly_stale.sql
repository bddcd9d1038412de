-- anomaly_stale: records a pending anomaly delivery as stale (its window ended longer ago than
-- alerts.grace): listed, never sent. One sent or held meanwhile is left alone.
-- $1 scope, $2 value, $3 window kind, $4 window start, $5 channel.
UPDATE anomaly_deliveries
SET status = 'stale'
WHERE scope = $1 AND value = $2 AND window_kind = $3 AND window_start = $4 AND channel = $5 AND status = 'pending'
