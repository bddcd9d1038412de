-- mark_returning: an INSERT into events (the caller replaces /*insert*/ with it, without
-- RETURNING) that also writes the change marks and sums of the rows it inserted, as the trigger
-- of migration 00012 writes them from its transition table: for writers of events where no
-- trigger marks them (Citus: migration 00018), such as a bulk load or a hand-made fix. The marks
-- take the shared lock of mark_insert.sql.
WITH new_rows AS (
    /*insert*/
    RETURNING occurred_at, ingest_xact, service, model, provider, org_id, user_id, cost
), w AS (
    SELECT txid_current() AS x, (SELECT count(*) <= 5000 FROM new_rows) AS small,
           pg_advisory_xact_lock_shared(hashtextextended('aispend.event_marks', 0)) IS NULL AS unlocked
), marks AS (
    INSERT INTO event_changes (hour, xact, rows, summed)
    SELECT date_trunc('hour', occurred_at, 'UTC'),
           CASE WHEN every(ingest_xact IS NOT DISTINCT FROM w.x) THEN w.x END, count(*),
           w.small AND every(ingest_xact IS NOT DISTINCT FROM w.x)
    FROM new_rows, w
    GROUP BY 1, w.x, w.small
)
INSERT INTO event_change_sums (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
SELECT date_trunc('hour', occurred_at, 'UTC'), w.x, service, model, provider,
       coalesce(org_id, ''), coalesce(user_id, ''), coalesce(sum(cost), 0), count(*),
       count(*) FILTER (WHERE cost IS NULL)
FROM new_rows, w
WHERE w.small AND ingest_xact = w.x
GROUP BY 1, 2, 3, 4, 5, 6, 7
