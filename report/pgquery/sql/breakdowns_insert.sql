-- breakdowns_insert: rebuilds the chargeback breakdowns (by endpoint and by each configured tag
-- key) of a run of whole days from events, and records the keys they were built with
-- (breakdown_days). Run after breakdowns_delete.sql in the same transaction as the rebuild of the
-- days' aggregates (refresh_insert.sql), or alone when only the configured keys changed.
-- $1 tz (IANA name), $2 first instant of the first day, $3 first instant of the day after the
-- last (timestamptz), $4 the tag keys (text[]), $5 the days (date[]).
-- One scan of the events for every key: the events are grouped by day, endpoint and the values
-- of all the keys at once (/*tags*/, replaced by the caller with ARRAY[tags ->> ($4::text[])[1],
-- …], one element per key), so that each further key costs one field read per event and the
-- groups it adds, not a scan; the coordinator-side step then spreads each group over its
-- endpoint and its tag values (a few thousand groups a day, not millions of events).
-- On Citus the grouping runs on the workers (a GROUP BY they run in parallel) and /*visible*/
-- keeps the rows of the refresh's snapshot ($6, as refresh_insert.sql); on plain PostgreSQL it
-- is empty. A tag value '' counts as untagged (key '').
WITH built AS (
    INSERT INTO breakdown_days (tz, day, tag_keys)
    SELECT $1, d, $4::text[] FROM unnest($5::date[]) AS d
    ON CONFLICT (tz, day) DO UPDATE SET tag_keys = EXCLUDED.tag_keys
), g AS (
    SELECT (occurred_at AT TIME ZONE $1)::date AS day, coalesce(endpoint, '') AS endpoint,
           /*tags*/ AS tag_values,
           count(*) AS requests, count(*) FILTER (WHERE NOT success) AS failures,
           count(*) FILTER (WHERE cache_hit) AS cache_hits, count(*) FILTER (WHERE cost IS NULL) AS unpriced,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(reasoning_tokens) AS reasoning_tokens, coalesce(sum(cost), 0) AS cost,
           count(duration_ms) AS latency_count, coalesce(sum(duration_ms), 0) AS latency_sum_ms
    FROM events
    WHERE occurred_at >= $2 AND occurred_at < $3 /*visible*/
    GROUP BY 1, 2, 3
)
INSERT INTO daily_breakdowns (
    tz, day, dim, key, requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms)
SELECT $1, g.day, d.dim, d.key, sum(requests), sum(failures), sum(cache_hits), sum(unpriced),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
       sum(reasoning_tokens), sum(cost), sum(latency_count), sum(latency_sum_ms)
FROM g
CROSS JOIN LATERAL (
    SELECT 'endpoint', g.endpoint
    UNION ALL
    SELECT 'tag:' || k.key, coalesce(g.tag_values[k.i], '')
    FROM unnest($4::text[]) WITH ORDINALITY AS k(key, i)
) AS d(dim, key)
GROUP BY g.day, d.dim, d.key
