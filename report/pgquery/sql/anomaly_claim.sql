-- anomaly_claim: records an anomaly once per (scope, value, window kind, window start); an
-- anomaly already recorded (by an earlier or a concurrent run) keeps its first facts.
-- $1 scope, $2 value, $3 window kind, $4 window start, $5 window end, $6 actual, $7 usual,
-- $8 baseline, $9 samples, $10 drivers (jsonb). Returns one row when this call recorded it.
INSERT INTO anomalies (scope, value, window_kind, window_start, window_end, actual, usual, baseline, samples, drivers)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT DO NOTHING
RETURNING scope
