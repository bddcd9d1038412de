-- report_latency: the latency histograms over the days [$2, $3) of daily_rollups, merged (histograms
-- are additive): of the given (dim, key) pairs (the total and each dimension's top N; the
-- "other" row is the total minus the top N) and of every key of the dimensions in $6 (users and
-- orgs: the workbook lists every one of them, for chargeback), in one scan of the period's
-- rollups. Merged here and sent as one row per (dim, key): a month of the demo's users is about
-- a million non-empty (user, bucket) pairs, too many to send one a row.
-- $1 tz, $2 first day, $3 day after the last (date), $4 dims (text[]), $5 keys (text[]),
-- $6 dims of which every key is read (text[]).
-- Returns dim, key, the sparse merged histogram: buckets ascending (integer[]), their counts
-- (bigint[]).
SELECT dim, key, array_agg(b ORDER BY b), array_agg(n ORDER BY b)
FROM (
    SELECT r.dim, r.key, h.b, sum(h.n)::bigint AS n
    FROM daily_rollups r
    CROSS JOIN LATERAL unnest(r.latency_buckets, r.latency_counts) AS h(b, n)
    WHERE r.tz = $1 AND r.day >= $2::date AND r.day < $3::date
      AND (r.dim = ANY($6::text[]) OR (r.dim, r.key) IN (SELECT * FROM unnest($4::text[], $5::text[])))
    GROUP BY r.dim, r.key, h.b
) merged
GROUP BY dim, key
