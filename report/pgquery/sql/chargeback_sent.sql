-- chargeback_sent: marks a locked statement as sent.
-- $1 owner dimension, $2 owner, $3 month label.
UPDATE chargeback_log
SET status = 'sent', attempts = attempts + 1, last_error = NULL, last_attempt_at = now(), sent_at = now()
WHERE by_key = $1 AND owner = $2 AND period = $3
