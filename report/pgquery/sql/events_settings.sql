-- events_settings: the session settings of a transaction that lists a period's events in time
-- order, in chunks (events.sql, events_csv.sql): work_mem holds a chunk's sort; the CSV's times
-- are shown in the report's zone ($1), in ISO style (events_csv.sql builds RFC 3339 from it).
-- Settings for the transaction only (set_config(…, true)), with the zone as a parameter.
SELECT set_config('work_mem', '64MB', true), set_config('TimeZone', $1, true), set_config('DateStyle', 'ISO', true)
