-- anomaly_lock: locks one pending anomaly delivery for sending (SKIP LOCKED: another run is
-- sending it, or it was sent: nothing returned). Held until the caller's transaction ends.
-- $1 scope, $2 value, $3 window kind, $4 window start, $5 channel.
SELECT scope
FROM anomaly_deliveries
WHERE scope = $1 AND value = $2 AND window_kind = $3 AND window_start = $4 AND channel = $5 AND status = 'pending'
FOR UPDATE SKIP LOCKED
