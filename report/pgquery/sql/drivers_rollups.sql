-- drivers_rollups: every value of each of several dimensions with its cost and requests on the
-- given days, from the daily rollups, for a budget without a scope.
-- $1 tz, $2 days (date[]), $3 dimensions (text[]).
-- Returns dimension, key, cost, requests, unpriced.
SELECT dim, key, sum(cost), sum(requests)::bigint, sum(unpriced)::bigint
FROM daily_rollups
WHERE tz = $1 AND day = ANY ($2::date[]) AND dim = ANY ($3::text[])
GROUP BY dim, key
