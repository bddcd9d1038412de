-- budget_drivers: what drives a budget's spend: every value of each of several dimensions within
-- the budget's scope over [start, end), from the event log, in one scan: the part of a period
-- without current aggregates, or, with /*rows*/ replaced by pending_rows.sql (parameters from
-- $11), the rows of the current days that their aggregates do not hold yet; otherwise /*rows*/
-- is replaced by nothing.
-- $1 start, $2 end, $3..$9 the scope, $10 dimensions (text[]: service | model | user_id | org_id
-- | provider). The caller replaces /*scope*/ with scope.sql, its parameters renumbered from $3.
-- Returns dimension, key ('' when absent), cost, requests, unpriced.
SELECT dim, key, coalesce(sum(cost), 0) AS cost, count(*) AS requests, count(*) FILTER (WHERE cost IS NULL) AS unpriced
FROM (
    SELECT d.dim,
           CASE d.dim
               WHEN 'service' THEN service
               WHEN 'model' THEN model
               WHEN 'provider' THEN provider
               WHEN 'org_id' THEN coalesce(org_id, '')
               WHEN 'user_id' THEN coalesce(user_id, '')
               ELSE ''
           END AS key, cost
    FROM (SELECT service, model, provider, org_id, user_id, cost
          FROM events
          WHERE occurred_at >= $1 AND occurred_at < $2 AND /*scope*/ /*rows*/) r
         CROSS JOIN unnest($10::text[]) AS d(dim)
) e
GROUP BY dim, key
