-- +goose Up
-- daily_breakdowns: the chargeback breakdowns of a day (reports.tag_keys), kept beside
-- daily_rollups and refreshed with them (report/pgquery: breakdowns_insert.sql on a rebuilt day,
-- breakdowns_deltas.sql for new events of a built day): one row per day × dim × value, dim
-- 'endpoint' or 'tag:<key>' for each configured tag key, key '' for events without an endpoint
-- or without the tag. Every dim of a day sums to the day's total. No latency histograms: the
-- pages and workbook show none per endpoint or tag.
CREATE TABLE daily_breakdowns (
    tz                 text    NOT NULL,
    day                date    NOT NULL,
    dim                text    NOT NULL,
    key                text    NOT NULL,
    requests           bigint  NOT NULL,
    failures           bigint  NOT NULL,
    cache_hits         bigint  NOT NULL,
    unpriced           bigint  NOT NULL,
    input_tokens       bigint  NOT NULL,
    output_tokens      bigint  NOT NULL,
    cache_read_tokens  bigint  NOT NULL,
    cache_write_tokens bigint  NOT NULL,
    reasoning_tokens   bigint  NOT NULL,
    cost               numeric NOT NULL,
    latency_count      bigint  NOT NULL,
    latency_sum_ms     bigint  NOT NULL,
    PRIMARY KEY (tz, day, dim, key)
);

-- breakdown_days: the tag keys each day's breakdowns were built with. A day whose keys differ
-- from the configured ones (or that has no row: built before this migration) has its breakdowns
-- rebuilt from its events by the next refresh that covers it, while they are still stored.
CREATE TABLE breakdown_days (
    tz       text   NOT NULL,
    day      date   NOT NULL,
    tag_keys text[] NOT NULL,
    PRIMARY KEY (tz, day)
);

-- +goose Down
DROP TABLE breakdown_days;
DROP TABLE daily_breakdowns;
