-- spend_batch: the spend of several scopes over one time range from the event log, in one scan
-- of its events. The caller replaces /*scopes*/ with, for each scope, its cost (text, exact),
-- events and unpriced events, each an aggregate FILTERed by the scope's predicate (scope.sql
-- with the scope's parameters).
-- $1 start, $2 end (timestamptz); then seven parameters per scope.
SELECT 0 /*scopes*/
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2
