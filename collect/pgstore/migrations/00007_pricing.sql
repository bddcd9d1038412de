-- +goose Up
-- cache_write_1h_tokens: the part of cache_write_tokens written with a 1-hour lifetime, which
-- Anthropic bills at another rate than 5-minute writes. A constant default: PostgreSQL adds the
-- column without rewriting the partitions.
ALTER TABLE events ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0;

-- reprices: one row per `aispend reprice --from --to --force`: the range it recomputed, when, and
-- its totals. Written in the transactions that update the events, so it always states what
-- changed, even when a run stops half-way (finished_at stays NULL then).
CREATE TABLE reprices (
    id          bigserial   PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    range_from  timestamptz NOT NULL,
    range_to    timestamptz NOT NULL,
    events      bigint      NOT NULL DEFAULT 0,
    cost_before numeric     NOT NULL DEFAULT 0,
    cost_after  numeric     NOT NULL DEFAULT 0
);

-- reprice_models: per reprice, model and provider: the events whose cost changed, their total
-- before and after (unpriced counts as 0), and the price versions replaced and applied.
CREATE TABLE reprice_models (
    reprice_id      bigint  NOT NULL REFERENCES reprices (id) ON DELETE CASCADE,
    model           text    NOT NULL,
    provider        text    NOT NULL,
    events          bigint  NOT NULL,
    cost_before     numeric NOT NULL,
    cost_after      numeric NOT NULL,
    versions_before text[]  NOT NULL,
    versions_after  text[]  NOT NULL,
    PRIMARY KEY (reprice_id, model, provider)
);

-- +goose Down
DROP TABLE reprice_models;
DROP TABLE reprices;
ALTER TABLE events DROP COLUMN cache_write_1h_tokens;
