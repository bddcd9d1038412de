-- anomaly_list: the recorded anomalies whose window starts in [$1, $2), largest impact first,
-- with the status of their email delivery ('' when they have none).
SELECT a.scope, a.value, a.window_kind, a.window_start, a.window_end, a.actual, a.usual, a.baseline,
       a.samples, a.drivers, coalesce(d.status, '')
FROM anomalies a
LEFT JOIN anomaly_deliveries d ON d.scope = a.scope AND d.value = a.value AND d.window_kind = a.window_kind
                              AND d.window_start = a.window_start AND d.channel = 'email'
WHERE a.window_start >= $1 AND a.window_start < $2
ORDER BY a.actual - a.usual DESC, a.window_start, a.scope, a.value
