-- pending_hours: the hours of [from, to) with change marks not yet consumed: their days' stored
-- aggregates may miss events, so budget spend reads those days from the events.
-- $1 from, $2 to (timestamptz).
SELECT DISTINCT hour FROM event_changes WHERE hour >= $1::timestamptz - interval '1 hour' AND hour < $2
