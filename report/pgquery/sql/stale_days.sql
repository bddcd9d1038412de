-- stale_days: marks stale (no longer current) the days in tz touched by change marks that
-- name no transaction, so that they are rebuilt from the events the next time a report needs
-- them. An hour [h, h + 1 h) touches the calendar days of h and of its last microsecond (every
-- zone offset is a multiple of 15 minutes).
-- $1 tz, $2 hours (timestamptz[]).
DELETE FROM aggregate_days a
USING unnest($2::timestamptz[]) AS h(hour)
WHERE a.tz = $1
  AND (a.day = (h.hour AT TIME ZONE $1)::date
       OR a.day = ((h.hour + interval '1 hour' - interval '1 microsecond') AT TIME ZONE $1)::date)
