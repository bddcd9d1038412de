-- run_abandon: marks failed the runs of (kind, period) still 'running', left by a process that
-- died; run under the run's lock, so no live run of the key exists. Returns their ids.
-- $1 kind, $2 period.
UPDATE runs SET status = 'failed', finished_at = now(),
       error = 'abandoned: the process stopped without recording an outcome (found by a later run)'
 WHERE kind = $1 AND period = $2 AND status = 'running'
RETURNING id
