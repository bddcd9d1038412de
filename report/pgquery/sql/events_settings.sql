-- events_settings: the session setting of a transaction that lists a period's events in time
-- order, in chunks of a day (events.sql, events_csv.sql): work_mem holds a day's sort in memory up
-- to about 700,000 events (350 bytes each); a busier day sorts on disk. For the transaction only.
SET LOCAL work_mem = '256MB'
