-- run_insert: records a new run as running. Returns its id and start time.
-- $1 kind, $2 period, $3 host, $4 pid.
INSERT INTO runs (kind, period, host, pid) VALUES ($1, $2, $3, $4)
RETURNING id, started_at
