-- run_finish: records the outcome of run $1, unless a later run has already marked it abandoned
-- (then no row is returned). Returns the finish time.
-- $1 id, $2 status, $3 error ('' for none), $4 published keys (text[]), $5 alerts sent.
UPDATE runs SET status = $2, error = NULLIF($3, ''), published_keys = $4, alerts_sent = $5,
       finished_at = now()
 WHERE id = $1 AND status = 'running'
RETURNING finished_at
