-- export_snapshot: the snapshot of a report's transaction, for the read-only transaction that
-- lists its events (snapshot.go).
SELECT pg_export_snapshot()
