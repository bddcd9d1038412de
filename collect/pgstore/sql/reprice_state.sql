-- reprice_state: the last pass's price table fingerprint and the start of its pass over every
-- unpriced event (NULL, NULL with no pass yet), the xmin a pass starting now leaves for the next
-- one (the oldest transaction still running: the events of every older one are visible from
-- here on), and the time now. $1 the fingerprint of this pass's price table.
-- The incremental pass applies when the table is the same and the last full pass is recent.
SELECT s.since_xact, s.fingerprint = $1 AND s.full_at > now() - interval '1 day',
       txid_snapshot_xmin(txid_current_snapshot()), now()
FROM (SELECT 1) one LEFT JOIN reprice_state s ON true
