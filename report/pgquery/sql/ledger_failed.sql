-- ledger_failed: records a failed send; the alert stays pending for the next run.
-- $1 budget, $2 period start, $3 threshold, $4 kind, $5 error text.
UPDATE alert_ledger
SET attempts = attempts + 1, last_error = $5, last_attempt_at = now()
WHERE budget = $1 AND period_start = $2 AND threshold = $3 AND kind = $4
