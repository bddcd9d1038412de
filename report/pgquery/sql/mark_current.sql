-- mark_current: records that the aggregates of the given days were just rebuilt from events.
-- $1 tz, $2 days (date[]).
INSERT INTO aggregate_days (tz, day)
SELECT $1, d FROM unnest($2::date[]) AS d
ON CONFLICT (tz, day) DO UPDATE SET built_at = now()
