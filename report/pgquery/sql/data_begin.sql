-- data_begin: where the data of a report time zone begin, for what a report is compared with:
-- the first day with events in daily_rollups, and the first event of that day while it is still
-- stored (NULL once retention dropped it: the day's start is then the best known).
-- $1 tz. Returns the day (NULL: no events at all) and the first event's instant (or NULL).
-- The rollups' primary key (tz, day, …) finds the day without a scan; the events of one day are
-- found through the BRIN index on occurred_at.
WITH first AS (
    SELECT min(day) AS day FROM daily_rollups WHERE tz = $1 AND dim = 'total' AND requests > 0
)
SELECT first.day,
       (SELECT min(occurred_at) FROM events
        WHERE occurred_at >= (first.day::timestamp AT TIME ZONE $1)
          AND occurred_at < ((first.day + 1)::timestamp AT TIME ZONE $1))
FROM first
