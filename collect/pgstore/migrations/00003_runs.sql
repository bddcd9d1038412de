-- +goose Up
-- runs: one row per batch or scheduled run, written by report/runlog. A row is inserted only
-- while its run holds the PostgreSQL advisory lock for (kind, period), so at most one row per
-- (kind, period) is 'running' for a live run; a crashed run leaves a 'running' row whose lock
-- is gone, which the next run of the same key marks failed ('abandoned').
CREATE TABLE runs (
    id             bigserial   PRIMARY KEY,
    -- daily | weekly | monthly | budget-check | retention | ...
    kind           text        NOT NULL,
    -- the period label, e.g. 2025-10-01, 2025-W40, 2025-10.
    period         text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text        NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'succeeded', 'failed')),
    error          text,
    published_keys text[]      NOT NULL DEFAULT '{}',
    alerts_sent    integer     NOT NULL DEFAULT 0,
    -- where the run executes, to tell an operator which process holds a period.
    host           text        NOT NULL DEFAULT '',
    pid            integer     NOT NULL DEFAULT 0,
    CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE INDEX runs_started_at ON runs (started_at DESC, id DESC);
CREATE INDEX runs_running ON runs (kind, period) WHERE status = 'running';

-- +goose Down
DROP TABLE runs;
