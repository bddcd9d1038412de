-- spend_aggregates: a budget's spend on the given days from the daily aggregates, for a scope on
-- several dimensions.
-- $1 tz, $2 days (date[]), $3 service, $4 model, $5 provider, $6 org_id, $7 user_id ('' = no
-- filter).
-- The caller replaces /*scope*/ with aggregate_scope.sql, its parameters renumbered from $3.
-- Returns the cost (text, exact), the number of events and of unpriced events.
SELECT coalesce(sum(cost), 0)::text, coalesce(sum(requests), 0)::bigint, coalesce(sum(unpriced), 0)::bigint
FROM daily_aggregates
WHERE tz = $1 AND day = ANY ($2::date[]) AND /*scope*/
