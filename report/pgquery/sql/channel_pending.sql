-- channel_pending: the deliveries claimed but not yet sent, oldest first, including those left by
-- earlier runs whose send failed. covered: a delivery of the same channel, action, budget
-- period and kind with a higher threshold was sent, and stood for this one.
-- Returns the delivery columns (see scanDeliveries in channels.go) and covered.
SELECT d.budget, d.period_start, d.threshold, d.kind, d.channel, d.action, d.period_kind, d.period_end,
       d.severity, d.status, d.attempts, coalesce(d.last_error, ''), d.created_at, d.last_attempt_at, d.sent_at,
       EXISTS (SELECT 1 FROM channel_deliveries h
               WHERE h.budget = d.budget AND h.period_start = d.period_start AND h.kind = d.kind
                 AND h.channel = d.channel AND h.action = d.action AND h.threshold > d.threshold
                 AND h.status = 'sent')
FROM channel_deliveries d
WHERE d.status = 'pending'
ORDER BY d.created_at, d.budget, d.period_start, d.threshold, d.kind, d.channel, d.action
