-- apply_deltas: adds the rows that consumed insert marks stand for to the daily aggregates and
-- rollups of the days in tz that are current, instead of rebuilding those days: the rows of hour
-- h with ingest_xact x are exactly the rows the transaction x inserted into h (migration 00010),
-- and none of them is counted yet (its mark was visible to no earlier refresh). Days that are not
-- current are left alone: they are rebuilt from the events when a report needs them. Run after
-- stale_days.sql in the same transaction, so that a day also touched by an update is rebuilt
-- instead. Each sum is added to the stored one; a histogram is merged bucket by bucket; the
-- result is the rows a rebuild would write (incremental_test.go compares them).
-- The rows are found through the B-tree on ingest_xact (migration 00011: exactly the rows of
-- the marks' transactions, wherever in the heap they were written) and matched to their marks by
-- a hashed semi join on (xact, UTC hour) (run under mark_join_settings.sql): one probe per row,
-- however many commits or hours the marks name, and a row is added once even if its transaction
-- left two marks of its hour.
-- $1 tz, $2 hours (timestamptz[]), $3 xacts (bigint[]): one consumed mark per pair; $4, $5 the
-- least and greatest of $3.
WITH m AS (
    SELECT hour, x FROM unnest($2::timestamptz[], $3::bigint[]) AS u(hour, x)
), live AS (
    SELECT day FROM aggregate_days
    WHERE tz = $1
      AND day IN (SELECT (hour AT TIME ZONE $1)::date FROM m
                  UNION SELECT ((hour + interval '1 hour' - interval '1 microsecond') AT TIME ZONE $1)::date FROM m)
), ev AS (
    SELECT (e.occurred_at AT TIME ZONE $1)::date AS day, e.service, e.model, e.provider,
           coalesce(e.org_id, '') AS org_id, coalesce(e.user_id, '') AS user_id, e.success, e.cache_hit, e.cost,
           e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens, e.reasoning_tokens,
           e.duration_ms,
           -- as refresh_insert.sql (report.HistogramBucket)
           CASE WHEN e.duration_ms IS NULL THEN NULL
                WHEN e.duration_ms < 1 THEN 0
                ELSE 1 + floor(64 * ln(e.duration_ms::float8) / ln(2::float8) + 1e-9)::int
           END AS bucket
    FROM events e
    WHERE e.ingest_xact >= $4::bigint AND e.ingest_xact <= $5::bigint
      AND (e.ingest_xact, date_trunc('hour', e.occurred_at, 'UTC')) IN (SELECT x, hour FROM m)
      AND (e.occurred_at AT TIME ZONE $1)::date IN (SELECT day FROM live)
), fine AS (
    INSERT INTO daily_aggregates AS a (
        tz, day, service, model, provider, org_id, user_id,
        requests, failures, cache_hits, unpriced,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
    SELECT $1, day, service, model, provider, org_id, user_id,
           count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE cache_hit),
           count(*) FILTER (WHERE cost IS NULL),
           sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
           sum(reasoning_tokens), coalesce(sum(cost), 0), count(duration_ms), coalesce(sum(duration_ms), 0),
           '{}', '{}'
    FROM ev
    GROUP BY day, service, model, provider, org_id, user_id
    ON CONFLICT (tz, day, service, model, provider, org_id, user_id) DO UPDATE SET
        requests = a.requests + EXCLUDED.requests, failures = a.failures + EXCLUDED.failures,
        cache_hits = a.cache_hits + EXCLUDED.cache_hits, unpriced = a.unpriced + EXCLUDED.unpriced,
        input_tokens = a.input_tokens + EXCLUDED.input_tokens, output_tokens = a.output_tokens + EXCLUDED.output_tokens,
        cache_read_tokens = a.cache_read_tokens + EXCLUDED.cache_read_tokens,
        cache_write_tokens = a.cache_write_tokens + EXCLUDED.cache_write_tokens,
        reasoning_tokens = a.reasoning_tokens + EXCLUDED.reasoning_tokens, cost = a.cost + EXCLUDED.cost,
        latency_count = a.latency_count + EXCLUDED.latency_count,
        latency_sum_ms = a.latency_sum_ms + EXCLUDED.latency_sum_ms, refreshed_at = now()
), bump AS (
    -- a day changed: a snapshot of it read elsewhere (a replica) is no longer the same
    UPDATE aggregate_days SET built_at = now() WHERE tz = $1 AND day IN (SELECT day FROM ev)
), u AS (
    SELECT ev.*, d.dim, d.key
    FROM ev
    CROSS JOIN LATERAL (VALUES ('total', ''), ('service', ev.service), ('model', ev.model),
                               ('provider', ev.provider), ('org_id', ev.org_id), ('user_id', ev.user_id)) AS d(dim, key)
), sums AS (
    SELECT day, dim, key, count(*) AS requests, count(*) FILTER (WHERE NOT success) AS failures,
           count(*) FILTER (WHERE cache_hit) AS cache_hits, count(*) FILTER (WHERE cost IS NULL) AS unpriced,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(reasoning_tokens) AS reasoning_tokens, coalesce(sum(cost), 0) AS cost,
           count(duration_ms) AS latency_count, coalesce(sum(duration_ms), 0) AS latency_sum_ms
    FROM u
    GROUP BY day, dim, key
), hist AS (
    SELECT day, dim, key, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
    FROM (SELECT day, dim, key, bucket, count(*) AS n FROM u WHERE bucket IS NOT NULL GROUP BY 1, 2, 3, 4) b
    GROUP BY day, dim, key
)
INSERT INTO daily_rollups AS r (
    tz, day, dim, key, requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
SELECT $1, s.day, s.dim, s.key, s.requests, s.failures, s.cache_hits, s.unpriced,
       s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
       s.cost, s.latency_count, s.latency_sum_ms, coalesce(h.buckets, '{}'), coalesce(h.counts, '{}')
FROM sums s
LEFT JOIN hist h USING (day, dim, key)
ON CONFLICT (tz, day, dim, key) DO UPDATE SET
    requests = r.requests + EXCLUDED.requests, failures = r.failures + EXCLUDED.failures,
    cache_hits = r.cache_hits + EXCLUDED.cache_hits, unpriced = r.unpriced + EXCLUDED.unpriced,
    input_tokens = r.input_tokens + EXCLUDED.input_tokens, output_tokens = r.output_tokens + EXCLUDED.output_tokens,
    cache_read_tokens = r.cache_read_tokens + EXCLUDED.cache_read_tokens,
    cache_write_tokens = r.cache_write_tokens + EXCLUDED.cache_write_tokens,
    reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens, cost = r.cost + EXCLUDED.cost,
    latency_count = r.latency_count + EXCLUDED.latency_count,
    latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
    (latency_buckets, latency_counts) = (
        SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(n ORDER BY b), '{}')
        FROM (SELECT b, sum(n)::bigint AS n
              FROM (SELECT * FROM unnest(r.latency_buckets, r.latency_counts)
                    UNION ALL SELECT * FROM unnest(EXCLUDED.latency_buckets, EXCLUDED.latency_counts)) AS x(b, n)
              GROUP BY b) AS merged)
