-- digest_lock: locks a period's digest row for sending. SKIP LOCKED: when another run holds the
-- row (it is sending the digest now) this returns nothing. The lock is held until the caller's
-- transaction ends.
-- $1 period kind, $2 period label.
-- Returns the row's status: pending | sent.
SELECT status
FROM digest_log
WHERE kind = $1 AND period = $2
FOR UPDATE SKIP LOCKED
