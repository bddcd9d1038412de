-- +goose Up
-- chargeback_log: one row per chargeback statement, keyed by (owner dimension, owner, month).
-- The owner dimension is `org_id` or `tag:<key>` as configured (chargeback.by), the owner the
-- value the events carry, the month its label (2026-10). A monthly run claims the row of every
-- owner with a recipient (INSERT … ON CONFLICT DO NOTHING), then sends each pending row while
-- holding its lock (FOR UPDATE SKIP LOCKED), so concurrent runs never both send one and a
-- failed send stays pending for the next run, as in alert_ledger.
CREATE TABLE chargeback_log (
    by_key          text        NOT NULL,
    owner           text        NOT NULL,
    period          text        NOT NULL,
    recipient       text        NOT NULL,
    message_id      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (by_key, owner, period)
);

-- +goose Down
DROP TABLE chargeback_log;
