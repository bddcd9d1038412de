-- marks_barrier: on Citus, returns the refresh's snapshot on the coordinator
-- (txid_current_snapshot(): which transactions' marks and rows it holds) after waiting for every
-- writer of events still finishing its commit. A writer's transaction commits on the coordinator
-- (its marks become visible) before its rows commit on the workers (Citus's two-phase commit),
-- and it holds the shared lock that its marks take (collect/pgstore mark_insert.sql,
-- mark_hours.sql) until both are done: once this exclusive lock is granted and released again
-- (at once, so writers wait a moment at most), the rows of every transaction in the snapshot are
-- visible on every worker. Run after the refresh's snapshot was taken and before it reads events.
SELECT txid_current_snapshot()::text, pg_advisory_lock(k), pg_advisory_unlock(k)
FROM (SELECT hashtextextended('aispend.event_marks', 0) AS k) l
