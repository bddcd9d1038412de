-- report_totals: a report's numbers from the daily rollups in one statement: over the period's
-- days [$3, $4), the total and the totals of every value of every breakdown dimension; and the
-- daily series over [$2, $4) with each day's latency histogram. The caller keeps the top N of
-- each dimension and sums the rest into "other", so every breakdown adds up exactly to the
-- total; histograms of the period's rows come from report_latency.
-- $1 tz, $2 first day of the series, $3 first day of the period, $4 day after the last (date).
-- Returns dim (total | service | model | provider | org_id | user_id | day), key ('' for total,
-- YYYY-MM-DD for day), the additive totals, cost (exact numeric), and for day rows the sparse
-- histogram (buckets ascending, counts; empty arrays otherwise).
SELECT dim, key, sum(requests)::bigint, sum(failures)::bigint, sum(cache_hits)::bigint, sum(unpriced)::bigint,
       sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,
       sum(cache_write_tokens)::bigint, sum(reasoning_tokens)::bigint, sum(cost),
       sum(latency_count)::bigint, sum(latency_sum_ms)::bigint, '{}'::integer[], '{}'::bigint[]
FROM daily_rollups
WHERE tz = $1 AND day >= $3::date AND day < $4::date
GROUP BY dim, key
UNION ALL
SELECT 'day', day::text, requests, failures, cache_hits, unpriced,
       input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost,
       latency_count, latency_sum_ms, latency_buckets, latency_counts
FROM daily_rollups
WHERE tz = $1 AND dim = 'total' AND day >= $2::date AND day < $4::date
