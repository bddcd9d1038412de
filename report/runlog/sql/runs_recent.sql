-- runs_recent: the $1 most recently started runs, newest first, in scanRun's column order.
-- $1 limit.
SELECT id, kind, period, started_at, finished_at, status, coalesce(error, ''),
       published_keys, alerts_sent, host, pid
  FROM runs
 ORDER BY started_at DESC, id DESC
 LIMIT $1
