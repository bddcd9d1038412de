-- models_seen: every (model, provider) with events since $1: all its events, the unpriced ones,
-- and the events whose cost aispend computes (the client sent none) with their input and output
-- tokens. Ordered by model, provider.
SELECT model, provider, count(*), count(*) FILTER (WHERE cost IS NULL),
       count(*) FILTER (WHERE sent_cost IS NULL),
       coalesce(sum(input_tokens) FILTER (WHERE sent_cost IS NULL), 0)::bigint,
       coalesce(sum(output_tokens) FILTER (WHERE sent_cost IS NULL), 0)::bigint
FROM events
WHERE occurred_at >= $1
GROUP BY model, provider
ORDER BY model, provider
