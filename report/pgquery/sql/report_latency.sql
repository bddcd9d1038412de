-- report_latency: the latency histograms over the days [$2, $3) of daily_rollups: of the given
-- (dim, key) pairs (the total and each dimension's top N; the "other" row is the total minus the
-- top N) and of every key of the dimensions in $6 (users and orgs: the workbook lists every one
-- of them, for chargeback), in one scan of the period's rollups. Each day's sparse histogram is
-- returned as stored and the caller merges them (histograms are additive): unnesting and
-- regrouping a month of the demo's users in PostgreSQL (millions of (user, bucket) pairs, one
-- hash aggregation on one core) cost ten times the scan.
-- $1 tz, $2 first day, $3 day after the last (date), $4 dims (text[]), $5 keys (text[]),
-- $6 dims of which every key is read (text[]).
-- Returns dim, key, one day's sparse histogram: buckets ascending (integer[]), their counts
-- (bigint[]); only days with durations.
SELECT dim, key, latency_buckets, latency_counts
FROM daily_rollups
WHERE tz = $1 AND day >= $2::date AND day < $3::date AND cardinality(latency_buckets) > 0
  AND (dim = ANY($6::text[]) OR (dim, key) IN (SELECT * FROM unnest($4::text[], $5::text[])))
