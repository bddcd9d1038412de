-- anomaly_delivery_claim: claims a delivery of a recorded anomaly for each channel of $5 (text[])
-- it has none for yet: pending, or stale when $6 is true (its window ended longer ago than
-- alerts.grace). Existing deliveries are left alone.
-- $1 scope, $2 value, $3 window kind, $4 window start.
INSERT INTO anomaly_deliveries (scope, value, window_kind, window_start, channel, status)
SELECT $1, $2, $3, $4, c, CASE WHEN $6::boolean THEN 'stale' ELSE 'pending' END
FROM unnest($5::text[]) AS c
ON CONFLICT DO NOTHING
