-- channel_claim: claims the trigger delivery of an alert to a channel, from the alert's ledger
-- row: stale when the alert is stale or $6 is true (its period ended longer ago than the grace).
-- A delivery that exists (claimed by an earlier or a concurrent run) is left alone, and nothing
-- is claimed for an alert the ledger does not hold.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 channel, $6 stale (boolean).
-- Returns one row when this call made the claim, none otherwise.
INSERT INTO channel_deliveries (budget, period_start, threshold, kind, channel, action, period_kind, period_end,
                                severity, status)
SELECT budget, period_start, threshold, kind, $5, 'trigger', period_kind, period_end, severity,
       CASE WHEN status = 'stale' OR $6::boolean THEN 'stale' ELSE 'pending' END
FROM alert_ledger
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4
ON CONFLICT DO NOTHING
RETURNING budget
