-- channel_lock: locks one pending delivery for sending. SKIP LOCKED: when another run holds the
-- row (it is sending it now) this returns nothing and the caller moves on; a row already sent
-- returns nothing too. The lock is held until the caller's transaction ends.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 channel, $6 action.
SELECT budget
FROM channel_deliveries
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4 AND channel = $5 AND action = $6
  AND status = 'pending'
FOR UPDATE SKIP LOCKED
