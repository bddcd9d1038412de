-- data_begin: where the data of a report time zone begin, for what a report is compared with:
-- the first day with events in daily_rollups. $1 tz. Returns the day (NULL: no events at all).
-- The rollups' primary key (tz, day, …) finds the day without a scan. The first event of that day
-- is read apart (first_event.sql), not in a correlated subquery: Citus cannot run one over a
-- distributed table beside a CTE.
SELECT min(day) FROM daily_rollups WHERE tz = $1 AND dim = 'total' AND requests > 0
