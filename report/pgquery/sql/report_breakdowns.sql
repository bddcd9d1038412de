-- report_breakdowns: the chargeback breakdowns over the days [$2, $3) of daily_breakdowns: the
-- totals of every value of the dims $4 ('endpoint', 'tag:<key>' for each configured key). The
-- caller keeps the top N of each and sums the rest into "other"; what a dim lacks against the
-- period's total (days whose events retention dropped before a key was configured) is counted
-- as untagged there.
-- $1 tz, $2 first day, $3 day after the last (date), $4 dims (text[]).
-- Returns dim, key ('' for none), the additive totals and cost (exact numeric).
SELECT dim, key, sum(requests)::bigint, sum(failures)::bigint, sum(cache_hits)::bigint, sum(unpriced)::bigint,
       sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,
       sum(cache_write_tokens)::bigint, sum(reasoning_tokens)::bigint, sum(cost),
       sum(latency_count)::bigint, sum(latency_sum_ms)::bigint
FROM daily_breakdowns
WHERE tz = $1 AND day >= $2::date AND day < $3::date AND dim = ANY ($4::text[])
GROUP BY dim, key
