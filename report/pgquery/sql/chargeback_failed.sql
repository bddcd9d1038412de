-- chargeback_failed: records a failed send; the statement stays pending for the next run.
-- $1 owner dimension, $2 owner, $3 month label, $4 error text.
UPDATE chargeback_log
SET attempts = attempts + 1, last_error = $4, last_attempt_at = now()
WHERE by_key = $1 AND owner = $2 AND period = $3
