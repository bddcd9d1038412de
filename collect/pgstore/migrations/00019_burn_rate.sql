-- +goose Up
-- alert_ledger.kind 'burn_rate': at the pace of the last hours a budget runs out before its
-- period ends (report.BurnRate). Recorded with the threshold code of its severity (80 WARNING,
-- 95 CRITICAL), so each budget period alerts at most once per severity, with the ledger's
-- guarantees; channel_deliveries references these rows and has no check of its own.
ALTER TABLE alert_ledger DROP CONSTRAINT alert_ledger_kind_check;
ALTER TABLE alert_ledger ADD CONSTRAINT alert_ledger_kind_check CHECK (kind IN ('actual', 'forecast', 'burn_rate'));

-- +goose Down
DELETE FROM alert_ledger WHERE kind = 'burn_rate';
ALTER TABLE alert_ledger DROP CONSTRAINT alert_ledger_kind_check;
ALTER TABLE alert_ledger ADD CONSTRAINT alert_ledger_kind_check CHECK (kind IN ('actual', 'forecast'));
