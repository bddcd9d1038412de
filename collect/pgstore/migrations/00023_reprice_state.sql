-- +goose Up
-- reprice_state: what the last pass of Reprice (pgstore/reprice.go) covered, so that a batch run
-- or budget check reads only the unpriced events that arrived since, not every unpriced event
-- stored (thousands a month of models no price names, read and priced again every 5 minutes).
-- fingerprint is the price table's (pricing.Table.Fingerprint) the last pass used; full_at when
-- the last pass over every unpriced event began; since_xact the oldest transaction still running when
-- the last pass began: every event written by an older one was visible to that pass.
CREATE TABLE reprice_state (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    fingerprint text        NOT NULL,
    full_at     timestamptz NOT NULL,
    since_xact  bigint      NOT NULL
);

-- +goose Down
DROP TABLE reprice_state;
