-- decide_spend_since: what the events of the transactions committed since an earlier read add to
-- a budget's spend, per entity: the rows whose inserting transaction (ingest_xact, the column
-- default txid_current()) the earlier read's snapshot $12 did not see. This statement's own
-- snapshot sees them (it is read in REPEATABLE READ, beside txid_current_snapshot()), so the
-- earlier spend plus these is the spend at this snapshot, to the last unit, whatever the rows'
-- occurred_at (a late event counts). A transaction that was running at $12 has an id at or above
-- its xmin: the btree events_ingest_xact finds the rows from there on.
-- $1 start, $2 end, $3..$9 the scope (the caller replaces /*scope*/ with scope.sql renumbered
-- from $3), $10 field (user_id | org_id | endpoint | tag, or '' for the scope's whole spend),
-- $11 the tag's key, $12 the earlier snapshot (txid_snapshot as text).
-- Returns key ('' for the whole spend), cost (text, exact), requests, unpriced. An event without
-- the field belongs to no entity and is left out, as in entity_spend.sql.
SELECT key, coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
FROM (
    SELECT CASE $10::text
               WHEN 'user_id' THEN user_id
               WHEN 'org_id' THEN org_id
               WHEN 'endpoint' THEN endpoint
               WHEN 'tag' THEN tags ->> $11::text
               ELSE ''
           END AS key, cost
    FROM events
    WHERE ingest_xact >= txid_snapshot_xmin($12::txid_snapshot)
      AND NOT txid_visible_in_snapshot(ingest_xact, $12::txid_snapshot)
      AND occurred_at >= $1 AND occurred_at < $2 AND /*scope*/
) e
WHERE key <> '' OR $10::text = ''
GROUP BY key
