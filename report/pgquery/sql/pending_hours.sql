-- pending_hours: every change mark not yet consumed, one per distinct (hour, xact, summed) (xact
-- NULL for a mark that names no transaction): the days they touch have aggregates that miss the
-- rows they stand for, so budget spend reads what those rows add (pending_sums.sql, or
-- pending_rows.sql for the transactions of marks whose rows were not summed) or, for a mark
-- without a transaction, the whole day from the events. The table holds what arrived since the
-- last refresh (a budget check refreshes at least hourly), so it is read whole, once per
-- snapshot.
SELECT DISTINCT hour, xact, summed FROM event_changes
