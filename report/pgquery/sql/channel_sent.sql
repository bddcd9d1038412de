-- channel_sent: marks a locked delivery as sent.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 channel, $6 action.
UPDATE channel_deliveries
SET status = 'sent', attempts = attempts + 1, last_error = NULL, last_attempt_at = now(), sent_at = now()
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND channel = $5 AND action = $6
