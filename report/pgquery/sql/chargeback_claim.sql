-- chargeback_claim: records an owner's statement of a month before its first send. A row that
-- already exists (sent, or left pending by a failed send) is left alone.
-- $1 owner dimension (org_id | tag:<key>), $2 owner, $3 month label, $4 recipient, $5 message id.
INSERT INTO chargeback_log (by_key, owner, period, recipient, message_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (by_key, owner, period) DO NOTHING
