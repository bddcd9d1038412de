-- report_latency: the latency histograms over the days [$2, $3) of the given (dim, key) pairs
-- of daily_rollups, merged: the rows a report shows (the total and each dimension's top N; the
-- "other" row is the total minus the top N, histograms being additive).
-- $1 tz, $2 first day, $3 day after the last (date), $4 dims (text[]), $5 keys (text[]).
-- Returns dim, key, bucket, count; one row per non-empty bucket.
SELECT r.dim, r.key, h.b, sum(h.n)::bigint
FROM daily_rollups r
CROSS JOIN LATERAL unnest(r.latency_buckets, r.latency_counts) AS h(b, n)
WHERE r.tz = $1 AND r.day >= $2::date AND r.day < $3::date
  AND (r.dim, r.key) IN (SELECT * FROM unnest($4::text[], $5::text[]))
GROUP BY r.dim, r.key, h.b
