-- anomaly_drivers: the spend of each (user, model, service) within a scope in each window: $1
-- starts and $2 ends (timestamptz[], one window each, returned as its 1-based ordinal), /*scope*/
-- the scope predicate (scope.sql) on $3…$9. Only for the anomalies found: a few windows of one
-- scope value, each found through the BRIN index on occurred_at.
SELECT w.i, coalesce(e.user_id, ''), e.model, e.service, coalesce(sum(e.cost), 0)
FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS w(s, e, i)
JOIN events e ON e.occurred_at >= w.s AND e.occurred_at < w.e
WHERE /*scope*/
GROUP BY 1, 2, 3, 4
