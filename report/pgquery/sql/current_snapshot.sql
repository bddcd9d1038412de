-- current_snapshot: the transaction's snapshot as text, for the reads on Citus that keep only
-- the events of the transactions it holds (visibleIn3).
SELECT txid_current_snapshot()::text
