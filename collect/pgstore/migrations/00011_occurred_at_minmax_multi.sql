-- +goose Up
-- The BRIN index on events.occurred_at keeps up to 32 values and intervals per block range
-- (minmax-multi) instead of one interval. A range holding a few late events of another day
-- matched, with one interval, every query of every day in between: on the demo's 10 million
-- events, one weekday's query read 120,000 blocks for the 23,000 that hold its events, and a
-- month's events CSV read the month's partition eight times over. With several intervals the
-- late events are outliers of their range and the day reads its own blocks (EXPLAIN ANALYZE in
-- the README's Benchmark section). Inserts barely notice (make bench): new rows go to ranges not
-- summarized yet. The rebuild holds each partition's write lock for a few seconds per ten
-- million events; the collector's inserts wait for it.
DROP INDEX events_occurred_at_brin;
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at timestamptz_minmax_multi_ops)
    WITH (autosummarize = on);

-- +goose Down
DROP INDEX events_occurred_at_brin;
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at) WITH (autosummarize = on);
