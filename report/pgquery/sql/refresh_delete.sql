-- refresh_delete: removes the daily aggregates and rollups of the given days before they are
-- rebuilt.
-- $1 tz (IANA name), $2 days (date[]).
WITH r AS (DELETE FROM daily_rollups WHERE tz = $1 AND day = ANY ($2::date[]))
DELETE FROM daily_aggregates WHERE tz = $1 AND day = ANY ($2::date[])
