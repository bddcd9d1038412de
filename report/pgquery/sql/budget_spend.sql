-- budget_spend: the spend of a budget's scope over [start, end) from the event log: the part of
-- a period without current aggregates, or all of it for a tag scope.
-- $1 start, $2 end (timestamptz), $3 service, $4 model, $5 provider, $6 org_id, $7 user_id,
-- $8 tag key, $9 tag value ('' = no filter).
-- Returns the cost (text, exact), the number of events and the number of unpriced events.
SELECT coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2
  AND ($3 = '' OR service = $3)
  AND ($4 = '' OR model = $4)
  AND ($5 = '' OR provider = $5)
  AND ($6 = '' OR org_id = $6)
  AND ($7 = '' OR user_id = $7)
  AND ($8 = '' OR tags ->> $8 = $9)
