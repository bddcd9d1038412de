-- spend_batch: the spend of several scopes over one time range from the event log, in one scan
-- of its events. The caller replaces /*scopes*/ with, for each scope, its cost (text, exact),
-- events and unpriced events, each an aggregate FILTERed by the scope's predicate (scope.sql
-- with the scope's parameters), and /*rows*/ with nothing (every event of the range) or with
-- pending_rows.sql (only the rows of pending insert marks: what the current days' aggregates do
-- not hold yet).
-- $1 start, $2 end (timestamptz); then pending_rows.sql's three parameters if it is pasted;
-- then seven parameters per scope.
SELECT 0 /*scopes*/
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2 /*rows*/
