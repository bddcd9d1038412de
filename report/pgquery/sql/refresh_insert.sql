-- refresh_insert: rebuilds the daily aggregates of the given days from events. Run after
-- refresh_delete in the same transaction.
-- $1 tz (IANA name), $2 range start, $3 range end (timestamptz, covering every day),
-- $4 days (date[]: the days in $1 to rebuild).
-- Latency bucket: 0 for < 1 ms, else 1 + floor(4·log2(ms)); the tiny epsilon keeps exact powers
-- of two in their own bucket despite rounding in log().
INSERT INTO daily_aggregates (
    tz, day, service, model, provider, org_id, user_id,
    requests, failures, cache_hits, unpriced,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, latency_count, latency_sum_ms, latency_hist)
WITH ev AS (
    SELECT (occurred_at AT TIME ZONE $1)::date AS day,
           service, model, provider, coalesce(org_id, '') AS org_id, coalesce(user_id, '') AS user_id,
           success, cache_hit, cost, duration_ms,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
           CASE WHEN duration_ms IS NULL THEN NULL
                WHEN duration_ms < 1 THEN 0
                ELSE 1 + floor(4 * log(2.0, duration_ms::numeric) + 0.0000000001)::int
           END AS bucket
    FROM events
    WHERE occurred_at >= $2 AND occurred_at < $3
), sel AS (
    SELECT * FROM ev WHERE day = ANY ($4::date[])
), hist AS (
    SELECT day, service, model, provider, org_id, user_id, bucket, count(*) AS n
    FROM sel WHERE bucket IS NOT NULL
    GROUP BY day, service, model, provider, org_id, user_id, bucket
), hist_arr AS (
    -- Dense array from bucket 0 to the highest non-empty bucket.
    SELECT m.day, m.service, m.model, m.provider, m.org_id, m.user_id,
           array_agg(coalesce(h.n, 0) ORDER BY g.i) AS latency_hist
    FROM (SELECT day, service, model, provider, org_id, user_id, max(bucket) AS top
          FROM hist GROUP BY day, service, model, provider, org_id, user_id) m
    CROSS JOIN LATERAL generate_series(0, m.top) AS g(i)
    LEFT JOIN hist h
      ON h.day = m.day AND h.service = m.service AND h.model = m.model AND h.provider = m.provider
     AND h.org_id = m.org_id AND h.user_id = m.user_id AND h.bucket = g.i
    GROUP BY m.day, m.service, m.model, m.provider, m.org_id, m.user_id
), agg AS (
    SELECT day, service, model, provider, org_id, user_id,
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
    FROM sel
    GROUP BY day, service, model, provider, org_id, user_id
)
SELECT $1, a.day, a.service, a.model, a.provider, a.org_id, a.user_id,
       a.requests, a.failures, a.cache_hits, a.unpriced,
       a.input_tokens, a.output_tokens, a.cache_read_tokens, a.cache_write_tokens, a.reasoning_tokens,
       a.cost, a.latency_count, a.latency_sum_ms, coalesce(h.latency_hist, '{}'::bigint[])
FROM agg a
LEFT JOIN hist_arr h
  ON h.day = a.day AND h.service = a.service AND h.model = a.model AND h.provider = a.provider
 AND h.org_id = a.org_id AND h.user_id = a.user_id
