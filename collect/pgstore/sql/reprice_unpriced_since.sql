-- reprice_unpriced_since: the next batch of the unpriced events written by transactions from
-- $1 on (since_xact of reprice_state: what arrived since the last pass), after ($2 ingest_xact,
-- $3 event_id) in that order, through events_ingest_xact; $4 the batch size.
SELECT event_id, occurred_at, model, provider, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
       sent_cost::text, coalesce(sent_currency, ''), ingest_xact
FROM events
WHERE ingest_xact >= $1 AND cost IS NULL AND (ingest_xact, event_id) > ($2, $3)
ORDER BY ingest_xact, event_id
LIMIT $4
