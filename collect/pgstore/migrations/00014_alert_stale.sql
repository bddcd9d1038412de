-- +goose Up
-- alert_ledger.status 'stale': an alert of a budget period that had ended longer ago than
-- alerts.grace when a run found it (a backfill, or a send that kept failing until then). It is
-- recorded, and listed with the period's alerts, but never sent: an email about a period that
-- ended days ago tells nobody anything they can still act on. Not 'pending', so no run retries it.
ALTER TABLE alert_ledger DROP CONSTRAINT alert_ledger_status_check;
ALTER TABLE alert_ledger ADD CONSTRAINT alert_ledger_status_check CHECK (status IN ('pending', 'sent', 'stale'));

-- +goose Down
DELETE FROM alert_ledger WHERE status = 'stale';
ALTER TABLE alert_ledger DROP CONSTRAINT alert_ledger_status_check;
ALTER TABLE alert_ledger ADD CONSTRAINT alert_ledger_status_check CHECK (status IN ('pending', 'sent'));
