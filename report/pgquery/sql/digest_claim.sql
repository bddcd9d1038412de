-- digest_claim: records the digest of a period before its first send. A row that already
-- exists (sent, or left pending by a failed send) is left alone.
-- $1 period kind, $2 period label, $3 message id.
INSERT INTO digest_log (kind, period, message_id)
VALUES ($1, $2, $3)
ON CONFLICT (kind, period) DO NOTHING
