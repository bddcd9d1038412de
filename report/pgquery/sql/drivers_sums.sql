-- drivers_sums: budget_drivers.sql over what the pending insert marks add to [start, end), from
-- the sums their trigger wrote (event_change_sums, migration 00012; see pending_sums.sql)
-- instead of the rows: [start, end) must be whole UTC hours, and the rows of the transactions in
-- $11 (marks without sums) are read by budget_drivers.sql with pending_rows.sql instead.
-- $1 start, $2 end, $3..$9 the scope, $10 dimensions (text[]), $11 transactions to leave out
-- (bigint[]). The caller replaces /*scope*/ with scope.sql, its parameters renumbered from $3.
-- Returns dimension, key ('' when absent), cost, requests, unpriced.
SELECT dim, key, coalesce(sum(cost), 0) AS cost, coalesce(sum(requests), 0)::bigint AS requests,
       coalesce(sum(unpriced), 0)::bigint AS unpriced
FROM (
    SELECT d.dim,
           CASE d.dim
               WHEN 'service' THEN service
               WHEN 'model' THEN model
               WHEN 'provider' THEN provider
               WHEN 'org_id' THEN org_id
               WHEN 'user_id' THEN user_id
               ELSE ''
           END AS key, cost, requests, unpriced
    FROM (SELECT service, model, provider, org_id, user_id, NULL::jsonb AS tags, cost, requests, unpriced
          FROM event_change_sums
          WHERE hour >= $1 AND hour < $2 AND xact <> ALL ($11::bigint[])) s
         CROSS JOIN unnest($10::text[]) AS d(dim)
    WHERE /*scope*/
) e
GROUP BY dim, key
