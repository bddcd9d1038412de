-- channel_failed: records a failed delivery; it stays pending for the next run.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 channel, $6 action, $7 error text.
UPDATE channel_deliveries
SET attempts = attempts + 1, last_error = $7, last_attempt_at = now()
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND channel = $5 AND action = $6
