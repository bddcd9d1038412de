-- entity_spend: the spend of every value of one field within a budget's scope over [start, end),
-- from the event log, for envelopes per endpoint or per tag (budgets with per): the aggregates
-- hold neither field, so these read the events of the whole period, as a tag scope does. An
-- event without the field belongs to no envelope and is left out.
-- $1 start, $2 end, $3..$9 the scope (the caller replaces /*scope*/ with scope.sql renumbered
-- from $3), $10 field (endpoint | tag), $11 the tag's key.
-- Returns key, cost (text, exact), requests, unpriced.
SELECT key, coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
FROM (
    SELECT CASE $10::text WHEN 'endpoint' THEN endpoint ELSE tags ->> $11::text END AS key, cost
    FROM events
    WHERE occurred_at >= $1 AND occurred_at < $2 AND /*scope*/
) e
WHERE key <> ''
GROUP BY key
