-- +goose Up
-- events.ingest_xact gets a B-tree instead of its BRIN index (migration 00010). The rows of the
-- pending change marks (report/pgquery spend_pending.sql, apply_deltas.sql) were found through
-- the BRIN index on the premise that new rows sit in the newest blocks; but an insert first
-- fills the pages with free space that VACUUM recorded anywhere in the heap (after updates, or
-- the pages a bulk extension left empty), and each such row widens the summary of its old block
-- range to the newest transactions: after a minute of clients sending through the collector, a
-- budget check read 19,351 blocks (405,522 rows rechecked) for 6,970 pending rows, more with
-- every commit. A B-tree finds exactly the rows of the pending transactions. It costs the
-- writers one index entry per row, appended at the right edge (transaction ids grow), and
-- little space: rows of one transaction share one deduplicated entry.
CREATE INDEX events_ingest_xact ON events (ingest_xact);
DROP INDEX events_ingest_xact_brin;

-- +goose Down
CREATE INDEX events_ingest_xact_brin ON events USING brin (ingest_xact) WITH (autosummarize = on);
DROP INDEX events_ingest_xact;
