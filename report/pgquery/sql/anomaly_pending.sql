-- anomaly_pending: the anomaly deliveries claimed but not yet sent, with their anomalies, oldest
-- first (those left by earlier runs whose send failed included).
SELECT a.scope, a.value, a.window_kind, a.window_start, a.window_end, a.actual, a.usual, a.baseline,
       a.samples, a.drivers, d.channel
FROM anomaly_deliveries d
JOIN anomalies a USING (scope, value, window_kind, window_start)
WHERE d.status = 'pending'
ORDER BY d.created_at, a.window_start, a.scope, a.value, d.channel
