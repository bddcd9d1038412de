-- +goose Up
-- event_change_sums: what each insert mark's rows add to the budgets, written by the same
-- statement trigger as the mark: per UTC hour, inserting transaction and the budget scope's
-- dimensions, the cost, the number of rows and of unpriced rows. Budget spend and
-- GET /v1/budgets read these few narrow rows, all in one small table, for the events that arrived
-- since the last refresh (report/pgquery pending_sums.sql), instead of those events themselves:
-- new rows fill the free space that VACUUM recorded all over a month's partition, so reading N
-- of them touched about N heap pages of a table far larger than memory. A refresh consumes the
-- sums in the statement that consumes the marks (consume_changes.sql): the same snapshot.
-- Only rows that carry the inserting transaction are summed: exactly the rows of the marks that
-- name it; a mark without a transaction makes its days read from the events anyway. A statement
-- of more than 5,000 rows (a bulk load such as the demo's chunks of 10,000; the collector commits
-- a few hundred unless saturated) is not summed: its sums would be about as many rows, its rows
-- are read from the events instead, exactly, and a refresh rebuilds a day that gets 50,000.
CREATE TABLE event_change_sums (
    hour     timestamptz NOT NULL,
    xact     bigint      NOT NULL,
    service  text        NOT NULL,
    model    text        NOT NULL,
    provider text        NOT NULL,
    org_id   text        NOT NULL,
    user_id  text        NOT NULL,
    cost     numeric     NOT NULL,
    requests bigint      NOT NULL,
    unpriced bigint      NOT NULL
);
-- Budget spend reads the sums of whole days: through this index it reads only the pages that
-- hold live sums, where a burst of ingest consumed since has left the table large and empty.
CREATE INDEX event_change_sums_hour ON event_change_sums (hour);
-- event_changes.summed: the insert mark's rows are in event_change_sums. A mark written before
-- this migration (or by a statement that began under the old trigger) has none: its rows are
-- read from the events.
ALTER TABLE event_changes ADD COLUMN summed boolean NOT NULL DEFAULT false;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    x bigint := txid_current(); -- the writer's transaction, as events.ingest_xact's default
    small boolean; -- summed: not a bulk load
BEGIN
    IF TG_OP = 'INSERT' THEN
        small := (SELECT count(*) <= 5000 FROM new_rows);
        INSERT INTO event_changes (hour, xact, rows, summed)
        SELECT date_trunc('hour', occurred_at, 'UTC'),
               CASE WHEN every(ingest_xact IS NOT DISTINCT FROM x) THEN x END, count(*),
               small AND every(ingest_xact IS NOT DISTINCT FROM x)
        FROM new_rows GROUP BY 1;
        IF NOT small THEN
            RETURN NULL;
        END IF;
        INSERT INTO event_change_sums (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
        SELECT date_trunc('hour', occurred_at, 'UTC'), x, service, model, provider,
               coalesce(org_id, ''), coalesce(user_id, ''), coalesce(sum(cost), 0), count(*),
               count(*) FILTER (WHERE cost IS NULL)
        FROM new_rows
        WHERE ingest_xact = x
        GROUP BY 1, 3, 4, 5, 6, 7;
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
ALTER TABLE event_changes DROP COLUMN summed;
DROP TABLE event_change_sums;
