-- +goose Up
-- daily_aggregates: the batch job's per-day totals, one row per day (in the report time zone
-- tz) × service × model × provider × org × user. Retention never deletes them, so reports of
-- periods whose raw events were dropped render the same numbers. A day is rebuilt from events
-- (delete + insert in one transaction) each time it is reported while its events still exist,
-- so late events are counted. Absent org/user are stored as ''.
CREATE TABLE daily_aggregates (
    tz                 text    NOT NULL,
    day                date    NOT NULL,
    service            text    NOT NULL,
    model              text    NOT NULL,
    provider           text    NOT NULL,
    org_id             text    NOT NULL,
    user_id            text    NOT NULL,
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
    -- latency_hist[i] counts durations in bucket i-1: bucket 0 is < 1 ms, bucket b ≥ 1 is
    -- [2^((b-1)/4), 2^(b/4)) ms. Trimmed after the last non-empty bucket.
    latency_hist       bigint[] NOT NULL,
    refreshed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tz, day, service, model, provider, org_id, user_id)
);

-- dropped_partitions: event partitions removed by retention. Their days are never rebuilt from
-- events again, even if an empty partition of the same month is created later.
CREATE TABLE dropped_partitions (
    name        text        PRIMARY KEY,
    range_start timestamptz NOT NULL,
    range_end   timestamptz NOT NULL,
    dropped_at  timestamptz NOT NULL DEFAULT now()
);

-- alert_ledger: one row per alert key (budget, period start, threshold, actual|forecast). The
-- unique key makes each alert claimable once; a claim whose send failed stays pending and is
-- retried by the next run. The row is locked (FOR UPDATE SKIP LOCKED) while its email is sent,
-- so concurrent runs never send the same key twice.
CREATE TABLE alert_ledger (
    budget          text        NOT NULL,
    period_start    timestamptz NOT NULL,
    threshold       integer     NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('actual', 'forecast')),
    period_kind     text        NOT NULL,
    period_end      timestamptz NOT NULL,
    severity        text        NOT NULL,
    spent           numeric     NOT NULL,
    amount          numeric     NOT NULL,
    projected       numeric,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    message_id      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (budget, period_start, threshold, kind)
);
CREATE INDEX alert_ledger_pending ON alert_ledger (created_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE alert_ledger;
DROP TABLE dropped_partitions;
DROP TABLE daily_aggregates;
