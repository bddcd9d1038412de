-- +goose Up
-- digest_log: one row per digest email, keyed by (period kind, period label). A report run sends
-- its period's digest only while the row is not 'sent', so re-running a period does not email
-- everyone again; `aispend run --resend-digest` sends it once more. The row is locked
-- (FOR UPDATE SKIP LOCKED) while the message is sent, so concurrent runs never both send it.
CREATE TABLE digest_log (
    kind            text        NOT NULL,
    period          text        NOT NULL,
    message_id      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    -- successful sends (more than one after --resend-digest) and all attempts.
    sends           integer     NOT NULL DEFAULT 0,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    recipients      text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (kind, period)
);

-- +goose Down
DROP TABLE digest_log;
