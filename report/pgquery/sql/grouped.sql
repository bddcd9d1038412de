-- grouped: totals of the daily aggregates of a range of days, grouped by one dimension, the
-- top N groups by cost (then requests, then key) each on its own row and every other group
-- summed into one "other" row, so the rows always add up exactly to the range's total.
-- $1 tz, $2 first day, $3 day after the last (date), $4 dimension: service | model | provider |
-- org_id | user_id | day | total (one group), $5 N (bigint; rows past N go to "other").
-- Returns key (NULL on the other row), other, the additive totals, cost as text (exact), and the
-- merged latency histogram (dense, bucket 0 first).
WITH r AS (
    SELECT CASE $4::text
               WHEN 'service' THEN service
               WHEN 'model' THEN model
               WHEN 'provider' THEN provider
               WHEN 'org_id' THEN org_id
               WHEN 'user_id' THEN user_id
               WHEN 'day' THEN day::text
               ELSE ''
           END AS key, a.*
    FROM daily_aggregates a
    WHERE tz = $1 AND day >= $2::date AND day < $3::date
), g AS (
    SELECT key, sum(requests) AS requests, sum(cost) AS cost
    FROM r GROUP BY key
), lab AS (
    SELECT key, rn > $5 AS other, CASE WHEN rn > $5 THEN NULL ELSE key END AS label, rn
    FROM (SELECT key, row_number() OVER (ORDER BY cost DESC, requests DESC, key) AS rn FROM g) x
), tot AS (
    SELECT l.label, l.other, min(l.rn) AS rn,
           sum(r.requests) AS requests, sum(r.failures) AS failures, sum(r.cache_hits) AS cache_hits,
           sum(r.unpriced) AS unpriced, sum(r.input_tokens) AS input_tokens,
           sum(r.output_tokens) AS output_tokens, sum(r.cache_read_tokens) AS cache_read_tokens,
           sum(r.cache_write_tokens) AS cache_write_tokens, sum(r.reasoning_tokens) AS reasoning_tokens,
           sum(r.cost) AS cost, sum(r.latency_count) AS latency_count, sum(r.latency_sum_ms) AS latency_sum_ms
    FROM r JOIN lab l ON l.key = r.key
    GROUP BY l.label, l.other
), hb AS (
    -- Every stored histogram is dense from index 1, so the indexes of a group are contiguous.
    SELECT l.label, l.other, h.idx, sum(h.n) AS n
    FROM r JOIN lab l ON l.key = r.key
    CROSS JOIN LATERAL unnest(r.latency_hist) WITH ORDINALITY AS h(n, idx)
    GROUP BY l.label, l.other, h.idx
), ha AS (
    SELECT label, other, array_agg(n::bigint ORDER BY idx) AS hist
    FROM hb GROUP BY label, other
)
SELECT t.label, t.other, t.requests::bigint, t.failures::bigint, t.cache_hits::bigint, t.unpriced::bigint,
       t.input_tokens::bigint, t.output_tokens::bigint, t.cache_read_tokens::bigint,
       t.cache_write_tokens::bigint, t.reasoning_tokens::bigint, t.cost::text,
       t.latency_count::bigint, t.latency_sum_ms::bigint, coalesce(ha.hist, '{}'::bigint[])
FROM tot t
LEFT JOIN ha ON ha.other = t.other AND ha.label IS NOT DISTINCT FROM t.label
ORDER BY t.other, t.rn
