-- refresh_insert: rebuilds the daily aggregates and their rollups of a run of whole days from
-- events (run with a work_mem that holds the hash aggregations). Run after refresh_delete in the
-- same transaction.
-- $1 tz (IANA name), $2 first instant of the first day, $3 first instant of the day after the
-- last (timestamptz).
-- Two scans of the events, each one hash aggregation: fine groups them by day and every key with
-- every additive column (the rows of daily_aggregates; they carry no histogram: reports read
-- latency from the rollups), and hist counts them by day, each dimension alone and latency
-- bucket (GROUPING SETS, one count per group: the only aggregate the histograms need). The
-- rollups' additive columns are fine's rows rolled up by each dimension. The caller replaces
-- /*n*/ and /*group*/ (refreshInsert): on plain PostgreSQL each row counts 1 and is grouped by
-- the GROUPING SETS alone; Citus cannot run GROUPING SETS over a distributed table, so there the
-- workers first count the rows by day, every key and bucket (a GROUP BY they run in parallel),
-- and the coordinator groups those counts. /*visible*/: nothing on plain PostgreSQL, whose
-- snapshot covers the events; on Citus, whose workers read the events in snapshots of their own
-- taken later than the refresh's, only the rows whose inserting transaction ($4, the
-- coordinator's snapshot: txid_current_snapshot()) the refresh's snapshot holds, the rows its
-- consumed marks stand for (marks_barrier.sql). One aggregation of every
-- column by every grouping set costs twice as much: the aggregate states dominate.
-- Latency bucket: 0 for < 1 ms, else 1 + floor(64·log2(ms)) in float8 (report.Histogram); the epsilon keeps exact
-- powers of two in their own bucket despite rounding. Integer sums are stored as bigint: per day
-- they are bounded by the collector's per-event limits.
WITH fine AS (
    INSERT INTO daily_aggregates (
        tz, day, service, model, provider, org_id, user_id,
        requests, failures, cache_hits, unpriced,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
    SELECT $1, (occurred_at AT TIME ZONE $1)::date,
           service, model, provider, coalesce(org_id, ''), coalesce(user_id, ''),
           count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE cache_hit),
           count(*) FILTER (WHERE cost IS NULL),
           sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
           sum(reasoning_tokens), coalesce(sum(cost), 0), count(duration_ms), coalesce(sum(duration_ms), 0),
           '{}', '{}'
    FROM events
    WHERE occurred_at >= $2 AND occurred_at < $3 /*visible*/
    GROUP BY 2, 3, 4, 5, 6, 7
    RETURNING day, service, model, provider, org_id, user_id, requests, failures, cache_hits, unpriced,
              input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
              cost, latency_count, latency_sum_ms
), sums AS (
    SELECT day,
           CASE WHEN GROUPING(service) = 0 THEN 'service'
                WHEN GROUPING(model) = 0 THEN 'model'
                WHEN GROUPING(provider) = 0 THEN 'provider'
                WHEN GROUPING(org_id) = 0 THEN 'org_id'
                WHEN GROUPING(user_id) = 0 THEN 'user_id'
                ELSE 'total' END AS dim,
           coalesce(service, model, provider, org_id, user_id, '') AS key,
           sum(requests) AS requests, sum(failures) AS failures, sum(cache_hits) AS cache_hits,
           sum(unpriced) AS unpriced, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(reasoning_tokens) AS reasoning_tokens, sum(cost) AS cost,
           sum(latency_count) AS latency_count, sum(latency_sum_ms) AS latency_sum_ms
    FROM fine
    GROUP BY GROUPING SETS ((day), (day, service), (day, model), (day, provider), (day, org_id), (day, user_id))
), hist AS (
    SELECT day,
           CASE WHEN GROUPING(service) = 0 THEN 'service'
                WHEN GROUPING(model) = 0 THEN 'model'
                WHEN GROUPING(provider) = 0 THEN 'provider'
                WHEN GROUPING(org_id) = 0 THEN 'org_id'
                WHEN GROUPING(user_id) = 0 THEN 'user_id'
                ELSE 'total' END AS dim,
           coalesce(service, model, provider, org_id, user_id, '') AS key,
           bucket, sum(n)::bigint AS n
    FROM (
        SELECT (occurred_at AT TIME ZONE $1)::date AS day,
               service, model, provider, coalesce(org_id, '') AS org_id, coalesce(user_id, '') AS user_id,
               CASE WHEN duration_ms < 1 THEN 0
                    ELSE 1 + floor(64 * ln(duration_ms::float8) / ln(2::float8) + 1e-9)::int
               END AS bucket,
               /*n*/ AS n
        FROM events
        WHERE occurred_at >= $2 AND occurred_at < $3 AND duration_ms IS NOT NULL /*visible*/
        /*group*/
    ) e
    GROUP BY GROUPING SETS ((day, bucket), (day, service, bucket), (day, model, bucket), (day, provider, bucket),
                            (day, org_id, bucket), (day, user_id, bucket))
), arrays AS (
    SELECT day, dim, key, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
    FROM hist
    GROUP BY day, dim, key
)
INSERT INTO daily_rollups (
    tz, day, dim, key, requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms, latency_buckets, latency_counts)
SELECT $1, s.day, s.dim, s.key, s.requests, s.failures, s.cache_hits, s.unpriced,
       s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
       s.cost, s.latency_count, s.latency_sum_ms, coalesce(a.buckets, '{}'), coalesce(a.counts, '{}')
FROM sums s
LEFT JOIN arrays a ON a.day = s.day AND a.dim = s.dim AND a.key = s.key
