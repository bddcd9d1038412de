-- chargeback_lock: locks an owner's pending statement for sending. SKIP LOCKED: when another run
-- holds the row (it is sending the statement now) this returns nothing; a statement already
-- sent returns nothing too. The lock is held until the caller's transaction ends.
-- $1 owner dimension, $2 owner, $3 month label.
SELECT owner
FROM chargeback_log
WHERE by_key = $1 AND owner = $2 AND period = $3 AND status = 'pending'
FOR UPDATE SKIP LOCKED
