-- summarize_brin: summarizes the block ranges of the given partitions' BRIN indexes on
-- occurred_at that were written since they were last summarized. A range that is not summarized
-- matches every query, so without this a rebuild of the newest day reads every block written
-- since the last VACUUM (days of events on a large partition). It only reads the unsummarized
-- ranges. Returns how many ranges it summarized.
-- $1 partition names (text[]).
SELECT coalesce(sum(brin_summarize_new_values(i.indexrelid)), 0)::bigint
FROM pg_inherits h
JOIN pg_class p ON p.oid = h.inhrelid
JOIN pg_index i ON i.indrelid = h.inhrelid
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
WHERE h.inhparent = 'events'::regclass AND p.relname = ANY ($1::text[])
