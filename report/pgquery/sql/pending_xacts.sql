-- pending_xacts: each transaction of the pending insert marks once, for the reads that take
-- every pending row from the events (pending_rows.sql in a zone whose offset is not whole hours).
SELECT DISTINCT xact FROM event_changes WHERE xact IS NOT NULL
