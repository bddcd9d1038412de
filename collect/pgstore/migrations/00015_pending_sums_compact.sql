-- +goose Up
-- event_change_sums rows with xact 0: the sums of many committed transactions merged into one
-- row per UTC hour and dimensions (report/pgquery sums_compact.sql, which a collector runs every
-- second). The trigger writes a row per transaction and dimensions, so a burst of thousands of
-- small commits leaves about one row per event; merged, the rows a budget read sums are bounded
-- by the distinct hours × dimensions of what is pending, whatever the commits. No transaction
-- is 0 (txid_current starts at 3), so readers that leave out the transactions of unsummed marks
-- (pending_sums.sql) never leave out a merged row, and compaction never merges the sums of such
-- a transaction. This index is the target of the merge's upsert.
CREATE UNIQUE INDEX event_change_sums_merged ON event_change_sums (hour, service, model, provider, org_id, user_id)
    WHERE xact = 0;
-- The sums not merged yet, which a merge takes: found through this index, not by scanning a
-- table that a burst leaves large and mostly empty (the merged rows stay until a refresh).
CREATE INDEX event_change_sums_unmerged ON event_change_sums (xact) WHERE xact <> 0;

-- +goose Down
DROP INDEX event_change_sums_unmerged;
DROP INDEX event_change_sums_merged;
