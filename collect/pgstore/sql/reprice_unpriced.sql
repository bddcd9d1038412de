-- reprice_unpriced: the next batch of unpriced events after ($1 occurred_at, $2 event_id), in
-- that order, through the partial index events_unpriced; $3 the batch size.
SELECT event_id, occurred_at, model, provider, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
       sent_cost::text, coalesce(sent_currency, ''), ingest_xact
FROM events
WHERE cost IS NULL AND (occurred_at, event_id) > ($1, $2)
ORDER BY occurred_at, event_id
LIMIT $3
