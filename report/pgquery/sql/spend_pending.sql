-- spend_pending: the spend of several scopes over the rows of [start, end) that change marks not
-- yet consumed stand for (marks of inserts, naming their transaction; apply_deltas.sql adds the
-- same rows to the aggregates when a refresh consumes the marks): what the current days'
-- aggregates do not hold yet. The rows are found through the B-tree on ingest_xact (migration
-- 00011), like apply_deltas, and matched to the marks read in the same snapshot (pending_hours.sql) by
-- equality on (xact, UTC hour), which the planner hashes: one probe per row, however many
-- commits left marks. (A join on the hour's range instead scanned, for every row, every mark of
-- an earlier hour: quadratic in the commits since the last refresh.)
-- The caller replaces /*scopes*/ as in spend_batch.sql.
-- $1 start, $2 end (timestamptz), $3 the least and $4 the greatest of $6; $5 hours
-- (timestamptz[]), $6 xacts (bigint[]): one pending insert mark per pair; then seven parameters
-- per scope.
SELECT 0 /*scopes*/
FROM events e
WHERE e.ingest_xact >= $3::bigint AND e.ingest_xact <= $4::bigint
  AND e.occurred_at >= $1 AND e.occurred_at < $2
  AND (e.ingest_xact, date_trunc('hour', e.occurred_at, 'UTC')) IN
      (SELECT x, hour FROM unnest($6::bigint[], $5::timestamptz[]) AS m(x, hour))
