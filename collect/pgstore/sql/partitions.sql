-- partitions: the partitions of events, with whether a DETACH … CONCURRENTLY was interrupted
-- (it must then be finalized).
-- Returns name, detach_pending.
SELECT c.relname::text, i.inhdetachpending
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'events'::regclass
ORDER BY c.relname
