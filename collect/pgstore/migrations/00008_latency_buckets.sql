-- +goose Up
-- Latency histograms go from 4 to 64 buckets per octave (report.Histogram), so that percentiles
-- are within 2 % of the exact value instead of ±10 %. Histograms cannot be split exactly, so:
-- every day is marked stale (its aggregate_days row removed) and is rebuilt from its events,
-- exactly, the next time a report or a budget needs it (report/pgquery refresh); the days whose
-- events retention already dropped cannot be rebuilt and keep their old precision: each coarse
-- bucket b ≥ 1, [2^((b-1)/4), 2^(b/4)) ms, becomes the fine bucket 16b − 8, whose upper edge is
-- the coarse bucket's geometric middle (what their percentiles reported before).
UPDATE daily_rollups
SET latency_buckets = (SELECT array_agg(CASE WHEN b = 0 THEN 0 ELSE 16 * b - 8 END ORDER BY o)
                       FROM unnest(latency_buckets) WITH ORDINALITY AS u(b, o))
WHERE cardinality(latency_buckets) > 0;
UPDATE daily_aggregates
SET latency_buckets = (SELECT array_agg(CASE WHEN b = 0 THEN 0 ELSE 16 * b - 8 END ORDER BY o)
                       FROM unnest(latency_buckets) WITH ORDINALITY AS u(b, o))
WHERE cardinality(latency_buckets) > 0;
DELETE FROM aggregate_days;

-- +goose Down
-- Back to quarter octaves: fine bucket c ≥ 1 lies in coarse bucket ceil(c / 16); buckets that
-- merge are summed.
UPDATE daily_rollups r
SET latency_buckets = x.buckets, latency_counts = x.counts
FROM (
    SELECT tz, day, dim, key, array_agg(b ORDER BY b) AS buckets, array_agg(n ORDER BY b) AS counts
    FROM (
        SELECT r.tz, r.day, r.dim, r.key, CASE WHEN u.b = 0 THEN 0 ELSE (u.b + 15) / 16 END AS b, sum(u.n)::bigint AS n
        FROM daily_rollups r CROSS JOIN LATERAL unnest(r.latency_buckets, r.latency_counts) AS u(b, n)
        GROUP BY 1, 2, 3, 4, 5
    ) y
    GROUP BY tz, day, dim, key
) x
WHERE r.tz = x.tz AND r.day = x.day AND r.dim = x.dim AND r.key = x.key;
DELETE FROM aggregate_days;
