-- cache_reads: the prompt-cache read tokens of the days [$2, $3) by day, model and provider,
-- from daily_aggregates: what the prompt-cache savings are priced from.
-- $1 tz, $2 first day, $3 day after the last (date).
-- Returns day, model, provider, cache read tokens.
SELECT day, model, provider, sum(cache_read_tokens)::bigint
FROM daily_aggregates
WHERE tz = $1 AND day >= $2::date AND day < $3::date AND cache_read_tokens > 0
GROUP BY day, model, provider
