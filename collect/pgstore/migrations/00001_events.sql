-- +goose Up
-- events: one row per AI request, as reported by applications. Range-partitioned by month on
-- occurred_at so that retention drops whole partitions. The primary key must contain the
-- partition key, so idempotency is on (event_id, occurred_at): clients keep both on retry.
CREATE TABLE events (
    event_id           text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    service            text        NOT NULL,
    model              text        NOT NULL,
    provider           text        NOT NULL DEFAULT '',
    input_tokens       bigint      NOT NULL,
    output_tokens      bigint      NOT NULL,
    cache_read_tokens  bigint      NOT NULL DEFAULT 0,
    cache_write_tokens bigint      NOT NULL DEFAULT 0,
    reasoning_tokens   bigint      NOT NULL DEFAULT 0,
    -- cost in the reporting currency; NULL means unpriced (unknown model or currency).
    cost               numeric,
    -- provider: sent by the client; local: priced by the collector; none: unpriced.
    cost_source        text        NOT NULL,
    -- the cost as the client sent it, when it sent one.
    sent_cost          numeric,
    sent_currency      text,
    -- the price-table entry (model@from) and exchange rate used to compute cost.
    price_version      text,
    fx_rate            numeric,
    duration_ms        bigint,
    success            boolean     NOT NULL DEFAULT true,
    error              text,
    cache_hit          boolean     NOT NULL DEFAULT false,
    user_id            text,
    org_id             text,
    endpoint           text,
    tags               jsonb,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Reports scan time ranges; BRIN costs almost nothing on append-mostly data.
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at);

-- +goose Down
DROP TABLE events;
