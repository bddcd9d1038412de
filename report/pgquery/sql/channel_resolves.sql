-- channel_resolves: claims one resolve per budget period, channel and kind whose trigger was sent
-- to one of the channels $1 and whose period ended at or before $2: the incident it opened is
-- closed when the period resets. The resolve takes the key of the period's highest threshold
-- sent. Existing resolves are left alone.
-- $1 channels (text[]), $2 now (timestamptz).
-- Returns one row per resolve claimed.
INSERT INTO channel_deliveries (budget, period_start, threshold, kind, channel, action, period_kind, period_end,
                                severity, status)
SELECT DISTINCT ON (d.budget, d.period_start, d.channel)
       d.budget, d.period_start, d.threshold, d.kind, d.channel, 'resolve', d.period_kind, d.period_end, d.severity, 'pending'
FROM channel_deliveries d
WHERE d.action = 'trigger' AND d.status = 'sent' AND d.channel = ANY ($1::text[]) AND d.period_end <= $2
  AND NOT EXISTS (SELECT 1 FROM channel_deliveries r
                  WHERE r.action = 'resolve' AND r.budget = d.budget AND r.period_start = d.period_start
                    AND r.channel = d.channel)
ORDER BY d.budget, d.period_start, d.channel, d.threshold DESC, d.kind
ON CONFLICT DO NOTHING
RETURNING budget
