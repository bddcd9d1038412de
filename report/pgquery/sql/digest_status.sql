-- digest_status: whether a period's digest was sent, for dry runs.
-- $1 period kind, $2 period label.
-- Returns one row (status) when the digest was ever attempted, none otherwise.
SELECT status
FROM digest_log
WHERE kind = $1 AND period = $2
