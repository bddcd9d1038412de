-- run_running: the newest 'running' run of (kind, period), the holder a busy Begin names; in
-- scanRun's column order.
-- $1 kind, $2 period.
SELECT id, kind, period, started_at, finished_at, status, coalesce(error, ''),
       published_keys, alerts_sent, host, pid
  FROM runs
 WHERE kind = $1 AND period = $2 AND status = 'running'
 ORDER BY id DESC
 LIMIT 1
