-- ledger_claim: claims an alert key. A key that already exists (claimed by an earlier or a
-- concurrent run, sent or not) is left alone.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 period kind, $6 period end, $7 severity,
-- $8 spent, $9 amount, $10 projected (NULL unless forecast), $11 message id, $12 status (pending, or
-- stale: recorded but never sent, its period ended too long ago).
-- Returns one row when this call made the claim, none otherwise.
INSERT INTO alert_ledger (budget, period_start, threshold, kind, period_kind, period_end, severity,
                          spent, amount, projected, message_id, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9::numeric, $10::numeric, $11, $12)
ON CONFLICT (budget, period_start, threshold, kind) DO NOTHING
RETURNING budget
