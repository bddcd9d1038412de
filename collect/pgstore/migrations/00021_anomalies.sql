-- +goose Up
-- hourly_spend: spend per UTC hour and scope value (service, model, provider, org_id, user_id and
-- the configured tag keys as 'tag:<key>'), the incremental aggregate anomaly detection reads its
-- baselines from (report.Anomaly), so that a run never scans weeks of events. hourly_built lists
-- the hours built, with the tag keys they were built for; a refresh deletes the hours its change
-- marks touched (late events, re-pricing), and detection rebuilds the hours it needs that are
-- missing, from the events of those hours only.
CREATE TABLE hourly_spend (
    hour     timestamptz NOT NULL,
    dim      text        NOT NULL,
    value    text        NOT NULL,
    cost     numeric     NOT NULL,
    requests bigint      NOT NULL,
    PRIMARY KEY (hour, dim, value)
);
CREATE TABLE hourly_built (
    hour     timestamptz PRIMARY KEY,
    tag_keys text[]      NOT NULL
);

-- anomalies: one row per (scope key, value, window) found far above its usual level, with the
-- facts its messages state (computed once, at detection), so that a retry sends what the first
-- attempt would have. anomaly_deliveries: its delivery ledger, one row per (anomaly, channel)
-- ('email' is the anomaly email), with alert_ledger's guarantees: claimed once (the key), sent
-- under its row lock (FOR UPDATE SKIP LOCKED) so that concurrent runs never deliver twice, a
-- failed send left pending for the next run, a window that ended longer ago than alerts.grace
-- recorded as stale.
CREATE TABLE anomalies (
    scope        text        NOT NULL,
    value        text        NOT NULL,
    window_kind  text        NOT NULL CHECK (window_kind IN ('hour', 'day')),
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    actual       numeric     NOT NULL,
    usual        numeric     NOT NULL,
    baseline     text        NOT NULL CHECK (baseline IN ('weekday', 'recent')),
    samples      integer     NOT NULL,
    drivers      jsonb       NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, value, window_kind, window_start)
);
CREATE INDEX anomalies_window ON anomalies (window_start);
CREATE TABLE anomaly_deliveries (
    scope           text        NOT NULL,
    value           text        NOT NULL,
    window_kind     text        NOT NULL,
    window_start    timestamptz NOT NULL,
    channel         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'stale')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (scope, value, window_kind, window_start, channel),
    FOREIGN KEY (scope, value, window_kind, window_start) REFERENCES anomalies ON DELETE CASCADE
);
CREATE INDEX anomaly_deliveries_pending ON anomaly_deliveries (created_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE anomaly_deliveries;
DROP TABLE anomalies;
DROP TABLE hourly_built;
DROP TABLE hourly_spend;
