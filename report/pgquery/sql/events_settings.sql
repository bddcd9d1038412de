-- events_settings: the session setting of a transaction that lists a period's events in time
-- order, in chunks of a day (events.sql, events_csv.sql): work_mem holds a day's sort in memory up
-- to several hundred thousand events; a busier day sorts on disk. For the transaction only.
SET LOCAL work_mem = '256MB'
