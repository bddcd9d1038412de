-- spend_rollups: a budget's spend on the given days from the daily rollups, for a scope on at
-- most one dimension ($3 total with $4 '', or the dimension and its value).
-- $1 tz, $2 days (date[]), $3 dim, $4 key.
-- Returns the cost (text, exact), the number of events and of unpriced events.
SELECT coalesce(sum(cost), 0)::text, coalesce(sum(requests), 0)::bigint, coalesce(sum(unpriced), 0)::bigint
FROM daily_rollups
WHERE tz = $1 AND day = ANY ($2::date[]) AND dim = $3 AND key = $4
