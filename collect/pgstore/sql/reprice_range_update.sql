-- reprice_range_update: applies one batch of new prices and records it under reprice $1, in one
-- statement (so in one transaction): the events whose price is still the one the batch was
-- computed from get the new one (an event changed meanwhile is left alone), and their count and
-- totals before and after are added to reprice_models and reprices. The events trigger marks
-- the hours changed for re-aggregation (migration 00006).
-- Parameters: $1 reprice id; arrays, one element per event: $2 event_id, $3 occurred_at,
-- $4 new cost, $5 new cost_source, $6 new price_version ('' = none), $7 new fx_rate, $8 old cost,
-- $9 old price_version ('' = none). Returns nothing.
WITH u AS (
    SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::text[]::numeric[], $5::text[], $6::text[],
                         $7::text[]::numeric[], $8::text[]::numeric[], $9::text[])
           AS u(event_id, occurred_at, cost, source, version, rate, old_cost, old_version)
), changed AS (
    UPDATE events e
    SET cost = u.cost, cost_source = u.source, price_version = NULLIF(u.version, ''), fx_rate = u.rate
    FROM u
    WHERE e.event_id = u.event_id AND e.occurred_at = u.occurred_at AND e.sent_cost IS NULL
      AND e.cost IS NOT DISTINCT FROM u.old_cost AND coalesce(e.price_version, '') = u.old_version
    RETURNING e.model, e.provider, u.old_cost, u.cost, u.old_version, u.version
), per_model AS (
    SELECT model, provider, count(*) AS events, coalesce(sum(old_cost), 0) AS cost_before,
           coalesce(sum(cost), 0) AS cost_after,
           array_remove(array_agg(DISTINCT old_version), '') AS versions_before,
           array_remove(array_agg(DISTINCT version), '') AS versions_after
    FROM changed GROUP BY model, provider
), logged AS (
    INSERT INTO reprice_models AS r (reprice_id, model, provider, events, cost_before, cost_after, versions_before, versions_after)
    SELECT $1, model, provider, events, cost_before, cost_after, versions_before, versions_after FROM per_model
    ON CONFLICT (reprice_id, model, provider) DO UPDATE SET
        events = r.events + excluded.events,
        cost_before = r.cost_before + excluded.cost_before,
        cost_after = r.cost_after + excluded.cost_after,
        versions_before = ARRAY(SELECT DISTINCT v FROM unnest(r.versions_before || excluded.versions_before) v ORDER BY v),
        versions_after = ARRAY(SELECT DISTINCT v FROM unnest(r.versions_after || excluded.versions_after) v ORDER BY v)
)
UPDATE reprices SET
    events = events + (SELECT coalesce(sum(events), 0) FROM per_model),
    cost_before = cost_before + (SELECT coalesce(sum(cost_before), 0) FROM per_model),
    cost_after = cost_after + (SELECT coalesce(sum(cost_after), 0) FROM per_model)
WHERE id = $1
