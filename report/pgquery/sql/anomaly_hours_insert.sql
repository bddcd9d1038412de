-- anomaly_hours_insert: builds the hourly aggregate of the UTC hours in [$1, $2) from their events:
-- the cost and requests of every value of service, model, provider, org_id, user_id and of each
-- tag key of $3 (text[]) as dim 'tag:<key>'; events without the field belong to no value. Then
-- records the hours as built for those tag keys. One scan of the range's events.
WITH ins AS (
    INSERT INTO hourly_spend (hour, dim, value, cost, requests)
    SELECT date_trunc('hour', e.occurred_at, 'UTC'), d.dim, d.value, coalesce(sum(e.cost), 0), count(*)
    FROM events e
    CROSS JOIN LATERAL (
        SELECT 'service' AS dim, e.service AS value
        UNION ALL SELECT 'model', e.model
        UNION ALL SELECT 'provider', e.provider
        UNION ALL SELECT 'org_id', e.org_id
        UNION ALL SELECT 'user_id', e.user_id
        UNION ALL SELECT 'tag:' || k, e.tags ->> k FROM unnest($3::text[]) AS k
    ) d
    WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND d.value IS NOT NULL AND d.value <> ''
    GROUP BY 1, 2, 3
    RETURNING hour
)
INSERT INTO hourly_built (hour, tag_keys)
SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour'), $3::text[]
ON CONFLICT (hour) DO UPDATE SET tag_keys = excluded.tag_keys
