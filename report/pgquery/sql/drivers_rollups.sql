-- drivers_rollups: every value of one dimension with its cost and requests on the given days,
-- from the daily rollups, for a budget without a scope.
-- $1 tz, $2 days (date[]), $3 dimension.
-- Returns key, cost, requests, unpriced.
SELECT key, sum(cost), sum(requests)::bigint, sum(unpriced)::bigint
FROM daily_rollups
WHERE tz = $1 AND day = ANY ($2::date[]) AND dim = $3
GROUP BY key
