-- pending_hours: the change marks not yet consumed, one per distinct (hour, xact, summed): the
-- days they touch have aggregates that miss the rows they stand for, so budget spend reads what
-- those rows add (pending_sums.sql, or pending_rows.sql for the transactions of marks whose rows
-- were not summed) or, for a mark without a transaction (xact NULL), the whole day from the
-- events. The insert marks whose rows were summed come as xact 0, one per hour: a burst of small
-- commits leaves one per transaction and hour, and only a read that needs every pending row
-- asks for their transactions (pending_xacts.sql). The table holds what arrived since the last
-- refresh (a budget check refreshes at least hourly), so it is read whole, once per snapshot.
SELECT DISTINCT hour, CASE WHEN summed THEN 0 ELSE xact END AS xact, summed FROM event_changes
