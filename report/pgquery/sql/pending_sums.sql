-- pending_sums: the spend of several scopes over [start, end) that the pending insert marks
-- stand for, from the sums their trigger wrote (event_change_sums, migration 00012: per UTC hour,
-- transaction and dimension) instead of the rows: a few narrow rows of one small table, where
-- the rows themselves lie scattered over a month's partition. [start, end) must be whole UTC
-- hours (the days of a zone whose offset is whole hours). The table holds exactly the sums of
-- the marks not yet consumed, in the same snapshot as pending_hours.sql; the rows of the
-- transactions in $3 (marks written without sums) are read from the events instead
-- (pending_rows.sql). The caller replaces /*scopes*/ as in spend_batch.sql, with sums of cost,
-- requests and unpriced; a tag scope never reads here (tags are not summed).
-- $1 start, $2 end (timestamptz), $3 transactions to leave out (bigint[]); then seven parameters
-- per scope.
SELECT 0 /*scopes*/
FROM (SELECT service, model, provider, org_id, user_id, NULL::jsonb AS tags, cost, requests, unpriced
      FROM event_change_sums
      WHERE hour >= $1 AND hour < $2 AND xact <> ALL ($3::bigint[])) e
