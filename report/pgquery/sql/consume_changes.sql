-- consume_changes: takes every change mark that is visible now (collect/pgstore migration 00006)
-- and marks the days it touches stale in every time zone that has aggregates, so that they are
-- rebuilt from events the next time a report needs them. Run under the aggregates lock, before
-- reading which days are current, in the transaction that then rebuilds them: a mark committed
-- after this statement stays for the next run, and its events, if this run already sees them,
-- are simply counted twice over (rebuilt once more), never missed. An hour [h, h + 1 h) touches
-- the calendar days of h and of its last microsecond.
WITH c AS (DELETE FROM event_changes RETURNING hour),
h AS (SELECT DISTINCT hour FROM c)
DELETE FROM aggregate_days a USING h
WHERE a.day = (h.hour AT TIME ZONE a.tz)::date
   OR a.day = ((h.hour + interval '1 hour' - interval '1 microsecond') AT TIME ZONE a.tz)::date
