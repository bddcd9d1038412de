-- +goose Up
-- entity_alerts: the alert ledger of envelope budgets (budgets with per): one row per (budget,
-- period start, entity, threshold, actual|forecast), with alert_ledger's guarantees. The unique
-- key makes each entity's alert claimable once, by one run, however many run at once; a run
-- sends one email per budget period for every pending row it locks (FOR UPDATE SKIP LOCKED, held
-- while the email is sent), so a concurrent run never names the same entity again; a failed
-- send leaves the rows pending for the next run. Its own table, not alert_ledger: a budget's
-- envelopes can cross thresholds by the hundred thousand, and one email lists them all, where
-- alert_ledger's rows are one email each.
CREATE TABLE entity_alerts (
    budget          text        NOT NULL,
    period_start    timestamptz NOT NULL,
    entity          text        NOT NULL,
    threshold       integer     NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('actual', 'forecast')),
    period_kind     text        NOT NULL,
    period_end      timestamptz NOT NULL,
    severity        text        NOT NULL,
    spent           numeric     NOT NULL,
    amount          numeric     NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'stale')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (budget, period_start, entity, threshold, kind)
);
CREATE INDEX entity_alerts_pending ON entity_alerts (budget, period_start) WHERE status = 'pending';

-- +goose Down
DROP TABLE entity_alerts;
