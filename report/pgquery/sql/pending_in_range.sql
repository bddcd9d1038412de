-- pending_in_range: whether a change mark not yet consumed touches [from, to): the events of
-- that range may differ from what the aggregates were built from.
-- $1 from, $2 to (timestamptz).
SELECT EXISTS (SELECT 1 FROM event_changes WHERE hour >= $1::timestamptz - interval '1 hour' AND hour < $2)
