-- +goose Up
-- On Citus (the citus extension created in this database), events is distributed by event_id:
-- its rows spread over the workers' shards, its monthly partitions with it (a partition created
-- later is distributed as it is attached). event_id is in the idempotency key (event_id,
-- occurred_at), as Citus requires of a unique key. Every other table stays a local table of the
-- coordinator: they are small, and the alert, digest and ledger logic locks their rows.
-- Citus refuses statement triggers on a distributed table, so the change-mark triggers
-- (migrations 00006, 00010, 00012) are dropped there: the writers of events write the marks and
-- their sums in their own transaction instead (collect/pgstore marks.go), which they do exactly
-- when events has no events_changed_insert trigger (writer_marks.sql). On plain PostgreSQL this
-- migration changes nothing.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    DROP TRIGGER events_changed_insert ON events;
    DROP TRIGGER events_changed_update ON events;
    DROP TRIGGER events_changed_delete ON events;
    PERFORM create_distributed_table('events', 'event_id');
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM undistribute_table('events');
    CREATE TRIGGER events_changed_insert AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();
    CREATE TRIGGER events_changed_update AFTER UPDATE ON events
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();
    CREATE TRIGGER events_changed_delete AFTER DELETE ON events
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();
END
$$;
-- +goose StatementEnd
