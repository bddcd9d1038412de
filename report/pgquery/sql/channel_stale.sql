-- channel_stale: records a pending delivery as stale (never to be sent: its period ended longer
-- ago than alerts.grace). A delivery sent or held meanwhile is left alone.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 channel, $6 action.
UPDATE channel_deliveries
SET status = 'stale'
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND channel = $5 AND action = $6
  AND status = 'pending'
