-- pending_age: whether a change mark not yet consumed is older than $1 (interval), and whether
-- a mark that names no transaction (its days read from the events until a refresh rebuilds them)
-- is pending. Compared with the database's clock, which stamped the marks.
SELECT coalesce(min(marked_at) < now() - $1::interval, false), coalesce(bool_or(xact IS NULL), false)
FROM event_changes
