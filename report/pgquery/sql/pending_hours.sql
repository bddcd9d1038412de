-- pending_hours: every change mark not yet consumed, one per distinct (hour, xact) (xact NULL for
-- a mark that names no transaction): the days they touch have aggregates that miss the rows they
-- stand for, so budget spend reads those rows (pending_rows.sql, which takes the transactions of
-- the insert marks as parameters) or, for a mark without a transaction, the whole day from the events. The table
-- holds what arrived since the last refresh (a budget check refreshes at least hourly), so it is
-- read whole, once per snapshot.
SELECT DISTINCT hour, xact FROM event_changes
