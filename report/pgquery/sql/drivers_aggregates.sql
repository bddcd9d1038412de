-- drivers_aggregates: every value of one dimension with its cost and requests on the given days
-- within a budget's scope, from the daily aggregates.
-- $1 tz, $2 days (date[]), $3..$7 scope as in spend_aggregates, $8 dimension.
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
WHERE tz = $1 AND day = ANY ($2::date[])
  AND ($3 = '' OR service = $3)
  AND ($4 = '' OR model = $4)
  AND ($5 = '' OR provider = $5)
  AND ($6 = '' OR org_id = $6)
  AND ($7 = '' OR user_id = $7)
GROUP BY 1
