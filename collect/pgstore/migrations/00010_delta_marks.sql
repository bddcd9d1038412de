-- +goose Up
-- Change marks that say which rows they stand for, so that the batch job adds the rows a mark
-- stands for to the aggregates of a day already built instead of rebuilding the whole day: a
-- late event costs a scan of its hour, not an aggregation of its day (report/pgquery
-- apply_deltas.sql).
-- events.ingest_xact is the transaction that inserted the row: txid_current() is the top-level
-- transaction, also inside a savepoint, extended with its epoch to 64 bits so that it never
-- wraps (the value of pg_current_xact_id(), as a bigint: bigint has a BRIN operator class, xid8
-- none). Existing rows keep NULL: they are in the aggregates already, and no mark names them.
-- Adding a column without a default and then setting the default touches no existing row.
ALTER TABLE events ADD COLUMN ingest_xact bigint;
ALTER TABLE events ALTER COLUMN ingest_xact SET DEFAULT txid_current();
-- Transaction ids grow as rows are appended, so a BRIN index finds the rows of recent
-- transactions in the blocks they were written to (late events sit at the end of the heap, far
-- from their day's other rows), whatever the time order of occurred_at; like every BRIN index
-- here it costs the writers almost nothing.
CREATE INDEX events_ingest_xact_brin ON events USING brin (ingest_xact) WITH (autosummarize = on);

-- event_changes.xact: set on the mark of an INSERT whose rows of that hour all carry the
-- inserting transaction's id (the column default), so that exactly those rows are the rows of
-- the hour with that ingest_xact. NULL (an UPDATE, a DELETE, or an insert that wrote
-- ingest_xact itself) means the job rebuilds the days of the hour from the events.
-- Hours are UTC hours now (date_trunc in UTC): before, they were truncated in the writer's
-- session time zone, which gave the same instants only for whole-hour offsets.
ALTER TABLE event_changes ADD COLUMN xact bigint;
-- event_changes.marked_at: when the writer's transaction began, so that a budget check can tell
-- how long the changes it would read from the events have been waiting for a refresh.
ALTER TABLE event_changes ADD COLUMN marked_at timestamptz NOT NULL DEFAULT now();
-- event_changes.rows: how many rows of the hour the statement wrote, so that the job can rebuild
-- a day instead of adding a delta as large as the day (a bulk load of a day already built).
ALTER TABLE event_changes ADD COLUMN rows bigint NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_changes (hour, xact, rows)
        SELECT date_trunc('hour', occurred_at, 'UTC'),
               CASE WHEN every(ingest_xact IS NOT DISTINCT FROM txid_current()) THEN txid_current() END, count(*)
        FROM new_rows GROUP BY 1;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM new_rows;
    END IF;
    INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM old_rows;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at) FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at) FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER TABLE event_changes DROP COLUMN rows;
ALTER TABLE event_changes DROP COLUMN marked_at;
ALTER TABLE event_changes DROP COLUMN xact;
DROP INDEX events_ingest_xact_brin;
ALTER TABLE events DROP COLUMN ingest_xact;
