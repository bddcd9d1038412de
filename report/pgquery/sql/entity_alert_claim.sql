-- entity_alert_claim: claims the alert keys of envelope entities (entity_alerts); a key that
-- exists (claimed by an earlier or a concurrent run, sent or not) is left alone.
-- $1 budget, $2 period start, $3 period kind, $4 period end, then one array per column, all of
-- one length: $5 entity, $6 threshold, $7 kind, $8 severity, $9 spent, $10 amount; $11 status
-- (pending, or stale: recorded, never sent).
-- Returns one row per key this call claimed.
INSERT INTO entity_alerts (budget, period_start, period_kind, period_end, entity, threshold, kind, severity, spent, amount, status)
SELECT $1, $2, $3, $4, e, t, k, s, sp, a, $11
FROM unnest($5::text[], $6::integer[], $7::text[], $8::text[], $9::numeric[], $10::numeric[]) AS u(e, t, k, s, sp, a)
ON CONFLICT (budget, period_start, entity, threshold, kind) DO NOTHING
RETURNING entity
