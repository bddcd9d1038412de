-- drivers_sums: budget_drivers.sql over what the pending insert marks add to [start, end), from
-- the sums their trigger wrote (event_change_sums, migration 00012; see pending_sums.sql)
-- instead of the rows: [start, end) must be whole UTC hours, and the rows of the transactions in
-- $10 (marks without sums) are read by budget_drivers.sql with pending_rows.sql instead.
-- $1 start, $2 end, $3..$9 the scope, $10 transactions to leave out (bigint[]). The caller
-- replaces /*scope*/ with scope.sql, its parameters renumbered from $3, and /*dim*/, /*key*/ and
-- /*sets*/ with the grouping of the dimensions asked for (driversGrouped).
-- Returns dimension, key ('' when absent), cost, requests, unpriced.
-- GROUPING SETS, as in drivers_aggregates.sql: a minute of 32 clients' small commits leaves
-- 38,000 sums, which a cross join with the dimensions copied three times into one hash table
-- (40 ms against 16 ms).
SELECT /*dim*/ AS dim, /*key*/ AS key,
       sum(cost) AS cost, sum(requests)::bigint AS requests, sum(unpriced)::bigint AS unpriced
FROM (SELECT service, model, provider, org_id, user_id, NULL::jsonb AS tags, cost, requests, unpriced
      FROM event_change_sums
      WHERE hour >= $1 AND hour < $2 AND xact <> ALL ($10::bigint[])) s
WHERE /*scope*/
GROUP BY GROUPING SETS (/*sets*/)
