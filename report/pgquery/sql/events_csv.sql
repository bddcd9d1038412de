-- events_csv: the events of [$1, $2) for the events CSV, oldest first (ties by event id), each
-- value as PostgreSQL prints it (read in text format, the time in binary), which
-- report/sheet.EventsCSV.WriteRaw writes without decoding it: cost exact without trailing zeros,
-- NULL when unpriced; tags as JSON text. Printing is what this query costs the database: the
-- RFC 3339 time, the inert text and the CSV quoting are left to Go, on the run's other core.
SELECT occurred_at, event_id, service, model, provider, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, reasoning_tokens, trim_scale(cost), cost_source,
       duration_ms, success, error, cache_hit, user_id, org_id, endpoint, tags
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2 /*visible*/
ORDER BY occurred_at, event_id
