-- refresh_insert: rebuilds the daily aggregates and their rollups of a run of whole days from
-- events, in one scan and one hash aggregation of the events (run with a work_mem that holds
-- it). Run after refresh_delete in the same transaction.
-- $1 tz (IANA name), $2 first instant of the first day, $3 first instant of the day after the
-- last (timestamptz).
-- g groups the events by GROUPING SETS: every key together (the fine rows of daily_aggregates,
-- which carry no histogram: reports read latency from the rollups), and each dimension alone with
-- the latency bucket (the rollups; their histogram collects the non-empty buckets).
-- Latency bucket: 0 for < 1 ms, else 1 + floor(4·log2(ms)) in float8; the epsilon keeps exact
-- powers of two in their own bucket despite rounding. Sums are numeric in PostgreSQL and stored
-- as bigint: per day they are bounded by the collector's per-event limits.
WITH e AS (
    SELECT (occurred_at AT TIME ZONE $1)::date AS day,
           service, model, provider, coalesce(org_id, '') AS org_id, coalesce(user_id, '') AS user_id,
           CASE WHEN duration_ms IS NULL THEN NULL
                WHEN duration_ms < 1 THEN 0
                ELSE 1 + floor(4 * ln(duration_ms::float8) / ln(2::float8) + 1e-9)::int
           END AS bucket,
           success, cache_hit, cost, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
           reasoning_tokens, duration_ms
    FROM events
    WHERE occurred_at >= $2 AND occurred_at < $3
), g AS MATERIALIZED (
    SELECT day,
           CASE WHEN GROUPING(bucket) = 1 THEN 'fine'
                WHEN GROUPING(service) = 0 THEN 'service'
                WHEN GROUPING(model) = 0 THEN 'model'
                WHEN GROUPING(provider) = 0 THEN 'provider'
                WHEN GROUPING(org_id) = 0 THEN 'org_id'
                WHEN GROUPING(user_id) = 0 THEN 'user_id'
                ELSE 'total' END AS dim,
           service, model, provider, org_id, user_id, bucket,
           count(*) AS requests,
           count(*) FILTER (WHERE NOT success) AS failures,
           count(*) FILTER (WHERE cache_hit) AS cache_hits,
           count(*) FILTER (WHERE cost IS NULL) AS unpriced,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens,
           sum(cache_write_tokens) AS cache_write_tokens,
           sum(reasoning_tokens) AS reasoning_tokens,
           coalesce(sum(cost), 0) AS cost,
           count(duration_ms) AS latency_count,
           coalesce(sum(duration_ms), 0) AS latency_sum_ms
    FROM e
    GROUP BY GROUPING SETS ((day, service, model, provider, org_id, user_id), (day, bucket), (day, service, bucket),
                            (day, model, bucket), (day, provider, bucket), (day, org_id, bucket), (day, user_id, bucket))
), fine AS (
    INSERT INTO daily_aggregates (
        tz, day, service, model, provider, org_id, user_id,
        requests, failures, cache_hits, unpriced,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
    SELECT $1, day, service, model, provider, org_id, user_id,
           requests, failures, cache_hits, unpriced,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
           cost, latency_count, latency_sum_ms, '{}', '{}'
    FROM g
    WHERE dim = 'fine'
)
INSERT INTO daily_rollups (
    tz, day, dim, key, requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
SELECT $1, day, dim, coalesce(service, model, provider, org_id, user_id, ''),
       sum(requests), sum(failures), sum(cache_hits), sum(unpriced),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens),
       sum(cost), sum(latency_count), sum(latency_sum_ms),
       coalesce(array_agg(bucket ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL), '{}'),
       coalesce(array_agg(requests ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL), '{}')
FROM g
WHERE dim <> 'fine'
GROUP BY day, dim, coalesce(service, model, provider, org_id, user_id, '')
