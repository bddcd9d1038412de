-- anomaly_sent: marks a locked anomaly delivery as sent.
-- $1 scope, $2 value, $3 window kind, $4 window start, $5 channel.
UPDATE anomaly_deliveries
SET status = 'sent', attempts = attempts + 1, last_error = NULL, last_attempt_at = now(), sent_at = now()
WHERE scope = $1 AND value = $2 AND window_kind = $3 AND window_start = $4 AND channel = $5
