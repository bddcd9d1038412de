-- events: every event of a time range, oldest first, for the workbook's Events sheets. The caller
-- reads the rows one at a time as they arrive, so memory does not grow with the period's size.
-- $1 from, $2 to (timestamptz, half-open [from, to)).
-- Returns the event columns; cost (NULL = unpriced), absent text as '', tags as
-- JSON text.
SELECT occurred_at, event_id, service, model, provider, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, cost_source,
       duration_ms, success, coalesce(error, ''), cache_hit, coalesce(user_id, ''),
       coalesce(org_id, ''), coalesce(endpoint, ''), coalesce(tags::text, '')
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2 /*visible*/
ORDER BY occurred_at, event_id
