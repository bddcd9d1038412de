-- digest_sent: records a successful send of a period's digest.
-- $1 period kind, $2 period label, $3 message id, $4 recipients (text[]).
UPDATE digest_log
SET status = 'sent', sends = sends + 1, attempts = attempts + 1, last_error = NULL,
    message_id = $3, recipients = $4, last_attempt_at = now(), sent_at = now()
WHERE kind = $1 AND period = $2
