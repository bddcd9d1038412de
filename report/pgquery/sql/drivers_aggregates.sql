-- drivers_aggregates: every value of each of several dimensions with its cost and requests on the
-- given days within a budget's scope, from the daily aggregates, in one scan.
-- $1 tz, $2 days (date[]), $3..$7 scope as in spend_aggregates, $8 dimensions (text[]).
-- The caller replaces /*scope*/ with aggregate_scope.sql, its parameters renumbered from $3.
-- Returns dimension, key, cost, requests, unpriced.
-- GROUPING SETS aggregate the scope's rows once into one hash table per dimension; a cross join
-- with the dimensions copied each row once per dimension and sorted the copies (a budget scoped
-- on a service at 10 million events a month: 33,000 copies of a day's 11,000 rows). Every
-- dimension is grouped and those not asked for are dropped after: grouping a few thousand rows
-- by two more columns costs less than a plan for each set of dimensions.
SELECT dim, key, cost, requests, unpriced
FROM (
    SELECT CASE WHEN GROUPING(service) = 0 THEN 'service'
                WHEN GROUPING(model) = 0 THEN 'model'
                WHEN GROUPING(provider) = 0 THEN 'provider'
                WHEN GROUPING(org_id) = 0 THEN 'org_id'
                ELSE 'user_id' END AS dim,
           coalesce(service, model, provider, org_id, user_id) AS key,
           sum(cost) AS cost, sum(requests)::bigint AS requests, sum(unpriced)::bigint AS unpriced
    FROM daily_aggregates
    WHERE tz = $1 AND day = ANY ($2::date[]) AND /*scope*/
    GROUP BY GROUPING SETS ((service), (model), (provider), (org_id), (user_id))
) g
WHERE dim = ANY ($8::text[])
