-- unpriced_models: the models of the events of [$1, $2) that have no price, with their event and
-- token counts, most events first. Unpriced events are rare and indexed (events_unpriced), so
-- this reads only them.
-- $1 first instant, $2 end (timestamptz).
-- Returns model, provider, events, input tokens, output tokens.
SELECT model, provider, count(*)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint
FROM events
WHERE cost IS NULL AND occurred_at >= $1 AND occurred_at < $2
GROUP BY model, provider
ORDER BY 3 DESC, 1, 2
