-- entity_alert_done: records the send of locked entity alerts: sent ($6 NULL), or failed with
-- the error $6 (they stay pending for the next run).
-- $1 budget, $2 period start, $3 entities, $4 thresholds, $5 kinds (arrays of one length: the
-- keys locked by entity_alert_lock.sql), $6 error text or NULL.
UPDATE entity_alerts a
SET attempts = attempts + 1, last_attempt_at = now(), last_error = $6,
    status = CASE WHEN $6::text IS NULL THEN 'sent' ELSE status END,
    sent_at = CASE WHEN $6::text IS NULL THEN now() END
FROM unnest($3::text[], $4::integer[], $5::text[]) AS u(e, t, k)
WHERE a.budget = $1 AND a.period_start = $2 AND a.entity = u.e AND a.threshold = u.t AND a.kind = u.k
