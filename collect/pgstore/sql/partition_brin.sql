-- partition_brin: the BRIN index on occurred_at of one partition of events (its name), to set
-- autosummarize on it: ALTER INDEX … SET is not allowed on the partitioned parent index.
-- No row when it is set already (ALTER INDEX waits for autovacuum on the partition).
-- $1 partition (regclass as text).
SELECT c.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
WHERE i.indrelid = $1::regclass
  AND NOT coalesce(c.reloptions @> '{autosummarize=on}', false)
