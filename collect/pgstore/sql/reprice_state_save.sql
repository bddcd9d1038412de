-- reprice_state_save: records a finished pass. $1 fingerprint, $2 the xmin when it began (the
-- next pass reads the events of transactions from there on), $3 when it began if it read every
-- unpriced event (else NULL: full_at stays).
INSERT INTO reprice_state AS s (fingerprint, full_at, since_xact)
VALUES ($1, coalesce($3::timestamptz, '-infinity'), $2)
ON CONFLICT (id) DO UPDATE
SET fingerprint = excluded.fingerprint, since_xact = excluded.since_xact,
    full_at = CASE WHEN $3::timestamptz IS NULL THEN s.full_at ELSE excluded.full_at END
