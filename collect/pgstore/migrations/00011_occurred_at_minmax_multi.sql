-- +goose Up
-- The BRIN index on events.occurred_at keeps up to 32 values and intervals per block range
-- (minmax-multi) instead of one interval. Events arrive roughly in time order, but a block range
-- that also holds a few late events of an earlier day has, as one interval, a span covering every
-- day in between, and every query of those days reads it; with several intervals the late events
-- are outliers of their range and a day's query reads the ranges that hold its events.
-- The index is rebuilt on the parent: each partition's index is rebuilt with the new operator
-- class and autosummarize (as 00010's index, both reach every partition; partitions created later
-- inherit them). The migration is one transaction and DROP INDEX takes an ACCESS EXCLUSIVE lock
-- on events: inserts and reports wait until every partition's index is built (one read of each
-- partition).
DROP INDEX events_occurred_at_brin;
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at timestamptz_minmax_multi_ops)
    WITH (autosummarize = on);

-- +goose Down
DROP INDEX events_occurred_at_brin;
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at) WITH (autosummarize = on);
