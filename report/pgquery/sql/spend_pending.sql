-- spend_pending: the spend of several scopes over the rows of [start, end) that change marks not
-- yet consumed stand for (marks of inserts, naming their transaction; apply_deltas.sql adds the
-- same rows to the aggregates when a refresh consumes the marks): what the current days'
-- aggregates do not hold yet. Found through the BRIN index on ingest_xact, like apply_deltas.
-- The caller replaces /*scopes*/ as in spend_batch.sql.
-- $1 start, $2 end (timestamptz), $3 the least and $4 the greatest xact of the pending marks;
-- then seven parameters per scope.
SELECT 0 /*scopes*/
FROM events e
WHERE e.ingest_xact >= $3::bigint AND e.ingest_xact <= $4::bigint
  AND e.occurred_at >= $1 AND e.occurred_at < $2
  AND EXISTS (SELECT 1 FROM event_changes c
              WHERE c.xact = e.ingest_xact AND e.occurred_at >= c.hour AND e.occurred_at < c.hour + interval '1 hour')
