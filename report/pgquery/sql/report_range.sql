-- report_range: the totals over the days [$2, $3) of daily_rollups, of the period and of every
-- value of every breakdown dimension: what a report is compared with (the previous period).
-- $1 tz, $2 first day, $3 day after the last (date).
-- Returns dim (total | service | model | provider | org_id | user_id), key ('' for total), the
-- additive totals and cost (exact numeric); no histograms.
SELECT dim, key, sum(requests)::bigint, sum(failures)::bigint, sum(cache_hits)::bigint, sum(unpriced)::bigint,
       sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,
       sum(cache_write_tokens)::bigint, sum(reasoning_tokens)::bigint, sum(cost),
       sum(latency_count)::bigint, sum(latency_sum_ms)::bigint
FROM daily_rollups
WHERE tz = $1 AND day >= $2::date AND day < $3::date
GROUP BY dim, key
