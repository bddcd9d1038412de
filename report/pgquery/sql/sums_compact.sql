-- sums_compact: merges the pending sums of committed transactions (event_change_sums, migrations
-- 00012 and 00015) into one row per UTC hour and dimensions (xact 0), so that budget spend,
-- GET /v1/budgets and alert drivers read as many sums as there are distinct hours × dimensions
-- pending, not one per transaction. The sums of a transaction with an unsummed mark are left
-- alone: readers leave them out by transaction and read its rows instead (pending_rows.sql).
-- The totals are unchanged in every snapshot: the statement deletes and adds the same amounts
-- at once. Run READ COMMITTED under aggregates_try_xact_lock.sql: a refresh (which deletes
-- every sum it sees in its REPEATABLE READ snapshot) never runs at the same time, and a
-- transaction still in progress has no visible sums, so they wait for the next merge.
-- $1 is the first sum to merge by transaction (sums_unmerged_first.sql): the sums are found
-- through the partial index event_change_sums_unmerged from there, not by a scan of a table that
-- a burst leaves large and mostly dead, which the planner chose on statistics from before the
-- burst. A sum of a lower transaction committed since that read is merged by the next merge.
-- Returns the number of sums merged and the number of merged rows they were added to.
WITH unsummed AS (
    SELECT DISTINCT xact FROM event_changes WHERE NOT summed AND xact IS NOT NULL
), merged AS (
    DELETE FROM event_change_sums
    WHERE xact >= $1 AND xact <> 0 AND xact <> ALL (ARRAY(SELECT xact FROM unsummed))
    RETURNING hour, service, model, provider, org_id, user_id, cost, requests, unpriced
), added AS (
    INSERT INTO event_change_sums AS s (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
    SELECT hour, 0, service, model, provider, org_id, user_id, sum(cost), sum(requests), sum(unpriced)
    FROM merged
    GROUP BY hour, service, model, provider, org_id, user_id
    ON CONFLICT (hour, service, model, provider, org_id, user_id) WHERE xact = 0
    DO UPDATE SET cost = s.cost + excluded.cost, requests = s.requests + excluded.requests,
                  unpriced = s.unpriced + excluded.unpriced
    RETURNING 1
)
SELECT (SELECT count(*) FROM merged), (SELECT count(*) FROM added)
