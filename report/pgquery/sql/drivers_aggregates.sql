-- drivers_aggregates: every value of each of several dimensions with its cost and requests on the
-- given days within a budget's scope, from the daily aggregates, in one scan (each row counts
-- once per dimension).
-- $1 tz, $2 days (date[]), $3..$7 scope as in spend_aggregates, $8 dimensions (text[]).
-- The caller replaces /*scope*/ with aggregate_scope.sql, its parameters renumbered from $3.
-- Returns dimension, key, cost, requests, unpriced.
SELECT d.dim,
       CASE d.dim
           WHEN 'service' THEN service
           WHEN 'model' THEN model
           WHEN 'provider' THEN provider
           WHEN 'org_id' THEN org_id
           WHEN 'user_id' THEN user_id
           ELSE ''
       END AS key, sum(cost), sum(requests)::bigint, sum(unpriced)::bigint
FROM daily_aggregates CROSS JOIN unnest($8::text[]) AS d(dim)
WHERE tz = $1 AND day = ANY ($2::date[]) AND /*scope*/
GROUP BY 1, 2
