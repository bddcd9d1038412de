-- reprice_range_select: a batch of the events of [$1, $2) whose cost aispend computes (the
-- client sent none), after the key ($3, $4) in (occurred_at, event_id) order, at most $5 rows.
-- Returns the columns pricing needs and the event's current price.
SELECT event_id, occurred_at, model, provider, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
       cost::text, cost_source, coalesce(price_version, ''), fx_rate::text
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2 AND sent_cost IS NULL
  AND (occurred_at, event_id) > ($3, $4)
ORDER BY occurred_at, event_id
LIMIT $5
