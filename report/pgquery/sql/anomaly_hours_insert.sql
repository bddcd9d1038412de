-- anomaly_hours_insert: builds the hourly aggregate of the UTC hours in [$1, $2) from their events:
-- the cost and requests of every value of service, model, provider, org_id, user_id and of each
-- tag key of $3 (text[]) as dim 'tag:<key>'; events without the field belong to no value. Then
-- records the hours as built for those tag keys. One scan of the range's events, in two steps
-- as breakdowns_insert.sql: the events are grouped by hour, every field and the values of all
-- the keys at once (/*tags*/, replaced by the caller with ARRAY[tags ->> ($3::text[])[1], …]),
-- then each group is spread over its values. On Citus the grouping runs on the workers (a
-- lateral spread of the distributed table itself cannot be pushed down to them) and /*visible*/
-- keeps the rows of the coordinator's snapshot ($4, marks_barrier.sql); on plain PostgreSQL it
-- is empty.
WITH g AS (
    SELECT date_trunc('hour', occurred_at, 'UTC') AS hour, service, model, provider,
           coalesce(org_id, '') AS org_id, coalesce(user_id, '') AS user_id, /*tags*/ AS tag_values,
           coalesce(sum(cost), 0) AS cost, count(*) AS requests
    FROM events
    WHERE occurred_at >= $1 AND occurred_at < $2 /*visible*/
    GROUP BY 1, 2, 3, 4, 5, 6, 7
), ins AS (
    INSERT INTO hourly_spend (hour, dim, value, cost, requests)
    SELECT g.hour, d.dim, d.value, sum(g.cost), sum(g.requests)
    FROM g
    CROSS JOIN LATERAL (
        SELECT 'service', g.service
        UNION ALL SELECT 'model', g.model
        UNION ALL SELECT 'provider', g.provider
        UNION ALL SELECT 'org_id', g.org_id
        UNION ALL SELECT 'user_id', g.user_id
        UNION ALL SELECT 'tag:' || k.key, g.tag_values[k.i] FROM unnest($3::text[]) WITH ORDINALITY AS k(key, i)
    ) AS d(dim, value)
    WHERE d.value IS NOT NULL AND d.value <> ''
    GROUP BY 1, 2, 3
    RETURNING hour
)
INSERT INTO hourly_built (hour, tag_keys)
SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour'), $3::text[]
ON CONFLICT (hour) DO UPDATE SET tag_keys = excluded.tag_keys
