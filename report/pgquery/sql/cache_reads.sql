-- cache_reads: the prompt-cache read tokens of the days [$2, $3) by day, model, provider and
-- price level: what the prompt-cache savings are priced from. A long-context tier reprices every
-- token of a request whose input passes its threshold, cache reads included, so the reads of
-- requests above the lowest threshold ($4) are summed from the events per band between two
-- thresholds (every price applies one level to a whole band), with one request's input tokens
-- to choose the level by; the rest come from daily_aggregates, less those. Without thresholds
-- the events are not read. A day whose events retention dropped keeps only its aggregates: its
-- reads count at base prices.
-- $1 tz, $2 first day, $3 day after the last (date), $4 tier thresholds ascending (bigint[]),
-- $5 first instant, $6 end instant (timestamptz) of the same days.
-- Returns day, model, provider, input tokens of one request of the band (0: base prices),
-- cache read tokens.
WITH long AS (
    SELECT (occurred_at AT TIME ZONE $1)::date AS day, model, provider,
           min(input_tokens) AS input_tokens, sum(cache_read_tokens) AS tokens
    FROM events
    WHERE cardinality($4::bigint[]) > 0 AND occurred_at >= $5 AND occurred_at < $6
      AND cache_read_tokens > 0 AND input_tokens > ($4::bigint[])[1]
    -- Band i: above threshold i, at most threshold i + 1 (a tier applies above its threshold).
    GROUP BY 1, 2, 3, width_bucket(input_tokens - 1, $4::bigint[])
), long_sum AS (
    SELECT day, model, provider, sum(tokens) AS tokens
    FROM long
    GROUP BY day, model, provider
), aggregated AS (
    SELECT day, model, provider, sum(cache_read_tokens) AS tokens
    FROM daily_aggregates
    WHERE tz = $1 AND day >= $2::date AND day < $3::date AND cache_read_tokens > 0
    GROUP BY day, model, provider
)
SELECT a.day, a.model, a.provider, 0::bigint, (a.tokens - coalesce(l.tokens, 0))::bigint
FROM aggregated a
LEFT JOIN long_sum l ON l.day = a.day AND l.model = a.model AND l.provider = a.provider
WHERE a.tokens > coalesce(l.tokens, 0)
UNION ALL
SELECT day, model, provider, input_tokens, tokens::bigint
FROM long
