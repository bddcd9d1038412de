-- digest_failed: records a failed send; a digest never sent stays pending for the next run.
-- $1 period kind, $2 period label, $3 error text.
UPDATE digest_log
SET attempts = attempts + 1, last_error = $3, last_attempt_at = now()
WHERE kind = $1 AND period = $2
