-- pending_hours: the change marks of [from, to) not yet consumed, one per distinct (hour, xact)
-- (xact NULL for a mark that names no transaction): their days' stored aggregates miss the rows
-- they stand for, so budget spend reads those rows (spend_pending.sql) or, for a mark without a
-- transaction, the whole day from the events.
-- $1 from, $2 to (timestamptz).
SELECT DISTINCT hour, xact FROM event_changes WHERE hour >= $1::timestamptz - interval '1 hour' AND hour < $2
