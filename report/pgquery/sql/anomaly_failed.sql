-- anomaly_failed: records a failed anomaly delivery; it stays pending for the next run.
-- $1 scope, $2 value, $3 window kind, $4 window start, $5 channel, $6 error text.
UPDATE anomaly_deliveries
SET attempts = attempts + 1, last_error = $6, last_attempt_at = now()
WHERE scope = $1 AND value = $2 AND window_kind = $3 AND window_start = $4 AND channel = $5
