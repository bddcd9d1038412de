-- +goose Up
-- channel_deliveries: the delivery ledger of alert channels (webhooks, Slack, PagerDuty). One row
-- per (alert, channel, action): the alert is a row of alert_ledger; action is 'trigger' (the
-- alert itself) or 'resolve' (PagerDuty: the alert's period has reset). The key makes each
-- delivery claimable once; the row is locked (FOR UPDATE SKIP LOCKED) while it is sent, so that
-- concurrent runs never deliver it twice; a failed send stays pending and the next run retries
-- it; a trigger of a period that ended longer ago than alerts.grace is recorded as stale, never
-- sent.
CREATE TABLE channel_deliveries (
    budget          text        NOT NULL,
    period_start    timestamptz NOT NULL,
    threshold       integer     NOT NULL,
    kind            text        NOT NULL,
    channel         text        NOT NULL,
    action          text        NOT NULL CHECK (action IN ('trigger', 'resolve')),
    period_kind     text        NOT NULL,
    period_end      timestamptz NOT NULL,
    severity        text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'stale')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (budget, period_start, threshold, kind, channel, action),
    FOREIGN KEY (budget, period_start, threshold, kind) REFERENCES alert_ledger ON DELETE CASCADE
);
CREATE INDEX channel_deliveries_pending ON channel_deliveries (created_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE channel_deliveries;
