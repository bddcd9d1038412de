-- drivers_aggregates: every value of one dimension with its cost and requests on the given days
-- within a budget's scope, from the daily aggregates.
-- $1 tz, $2 days (date[]), $3..$7 scope as in spend_aggregates, $8 dimension.
-- The caller replaces /*scope*/ with aggregate_scope.sql, its parameters renumbered from $3.
-- Returns key, cost, requests, unpriced.
SELECT CASE $8::text
           WHEN 'service' THEN service
           WHEN 'model' THEN model
           WHEN 'provider' THEN provider
           WHEN 'org_id' THEN org_id
           WHEN 'user_id' THEN user_id
           ELSE ''
       END AS key, sum(cost), sum(requests)::bigint, sum(unpriced)::bigint
FROM daily_aggregates
WHERE tz = $1 AND day = ANY ($2::date[]) AND /*scope*/
GROUP BY 1
