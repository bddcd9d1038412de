-- breakdowns_deltas: adds the rows that consumed insert marks stand for to the chargeback
-- breakdowns of the days in tz that are current, as apply_deltas.sql does to the aggregates (the
-- same marks, in the same transaction, right after it). Each day is counted by the tag keys its
-- breakdowns were built with (breakdown_days), so that a day stays what a rebuild with those keys
-- would write; a day built with other keys than the configured ones is rebuilt by the refresh.
-- Days not current, or whose breakdowns were never built, are left alone: they are rebuilt.
-- $1 tz, $2 hours (timestamptz[]), $3 xacts (bigint[]): one consumed mark per pair; $4, $5 the
-- least and greatest of $3.
WITH m AS (
    SELECT hour, x FROM unnest($2::timestamptz[], $3::bigint[]) AS u(hour, x)
), live AS (
    SELECT b.day, b.tag_keys
    FROM breakdown_days b
    JOIN aggregate_days a ON a.tz = b.tz AND a.day = b.day
    WHERE b.tz = $1
      AND b.day IN (SELECT (hour AT TIME ZONE $1)::date FROM m
                    UNION SELECT ((hour + interval '1 hour' - interval '1 microsecond') AT TIME ZONE $1)::date FROM m)
), ev AS MATERIALIZED (
    SELECT (e.occurred_at AT TIME ZONE $1)::date AS day, coalesce(e.endpoint, '') AS endpoint, e.tags,
           e.success, e.cache_hit, e.cost, e.input_tokens, e.output_tokens, e.cache_read_tokens,
           e.cache_write_tokens, e.reasoning_tokens, e.duration_ms
    FROM events e
    WHERE e.ingest_xact >= $4::bigint AND e.ingest_xact <= $5::bigint
      AND (e.ingest_xact, date_trunc('hour', e.occurred_at, 'UTC')) IN (SELECT x, hour FROM m)
      AND (e.occurred_at AT TIME ZONE $1)::date IN (SELECT day FROM live)
), u AS (
    SELECT ev.*, d.dim, d.key
    FROM ev
    JOIN live USING (day)
    CROSS JOIN LATERAL (
        SELECT 'endpoint', ev.endpoint
        UNION ALL
        SELECT 'tag:' || k, coalesce(ev.tags ->> k, '') FROM unnest(live.tag_keys) AS k
    ) AS d(dim, key)
)
INSERT INTO daily_breakdowns AS r (
    tz, day, dim, key, requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms)
SELECT $1, day, dim, key, count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE cache_hit),
       count(*) FILTER (WHERE cost IS NULL), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens), sum(reasoning_tokens), coalesce(sum(cost), 0), count(duration_ms),
       coalesce(sum(duration_ms), 0)
FROM u
GROUP BY day, dim, key
ON CONFLICT (tz, day, dim, key) DO UPDATE SET
    requests = r.requests + EXCLUDED.requests, failures = r.failures + EXCLUDED.failures,
    cache_hits = r.cache_hits + EXCLUDED.cache_hits, unpriced = r.unpriced + EXCLUDED.unpriced,
    input_tokens = r.input_tokens + EXCLUDED.input_tokens, output_tokens = r.output_tokens + EXCLUDED.output_tokens,
    cache_read_tokens = r.cache_read_tokens + EXCLUDED.cache_read_tokens,
    cache_write_tokens = r.cache_write_tokens + EXCLUDED.cache_write_tokens,
    reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens, cost = r.cost + EXCLUDED.cost,
    latency_count = r.latency_count + EXCLUDED.latency_count,
    latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms
