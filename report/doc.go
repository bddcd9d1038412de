// Package report is the batch job's logic: calendar periods in the report time zone, budgets and
// their evaluation (thresholds, state, forecast), the order of a run (refresh aggregates →
// statistics → alerts → outputs → retention) and the alert ledger protocol that sends each alert
// at most once. It holds no SQL and no markup and imports no adapter: storage is behind Store
// (report/pgquery), and emails are rendered with the templates and sent behind Sender
// (report/mail).
package report
