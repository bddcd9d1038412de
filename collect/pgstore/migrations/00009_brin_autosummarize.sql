-- +goose Up
-- BRIN on events.occurred_at only narrows a scan to the block ranges it has summarized; ranges
-- written since the last VACUUM are read in full by every query. On an insert-only partition of
-- ten million rows autovacuum runs every couple of million inserts, so the newest days (what a
-- nightly run and a budget check read) were unsummarized. autosummarize asks autovacuum to
-- summarize each range as soon as the next one starts filling; the batch job also summarizes
-- new ranges before it rebuilds aggregates (report/pgquery). New partitions get it when
-- created (partition.go).
-- +goose StatementBegin
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits h
             JOIN pg_index i ON i.indrelid = h.inhrelid
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
             WHERE h.inhparent = 'events'::regclass
    LOOP
        EXECUTE format('ALTER INDEX %I SET (autosummarize = on)', r.relname);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits h
             JOIN pg_index i ON i.indrelid = h.inhrelid
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
             WHERE h.inhparent = 'events'::regclass
    LOOP
        EXECUTE format('ALTER INDEX %I RESET (autosummarize)', r.relname);
    END LOOP;
END
$$;
-- +goose StatementEnd
