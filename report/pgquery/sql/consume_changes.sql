-- consume_changes: takes every change mark that is visible now (collect/pgstore migrations
-- 00006, 00010) and returns each distinct (hour, xact) once with the rows it stands for (xact
-- NULL for a mark that names no transaction: an update, a delete, or an insert that wrote
-- ingest_xact itself); the sums of the insert marks' rows (event_change_sums, migration 00012)
-- go with them, in the same statement and so the same snapshot. Run under the aggregates lock,
-- in the transaction that then applies them (stale_days.sql, apply_deltas.sql) to the aggregates
-- of every time zone: a mark committed after this statement stays for the next run, and its rows
-- are not visible to this one, so every change is applied exactly once.
WITH c AS (DELETE FROM event_changes RETURNING hour, xact, rows),
     s AS (DELETE FROM event_change_sums)
SELECT hour, xact, sum(rows)::bigint FROM c GROUP BY 1, 2
