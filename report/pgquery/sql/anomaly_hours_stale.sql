-- anomaly_hours_stale: the refresh consumed change marks of the UTC hours $1 (timestamptz[]):
-- their hourly aggregate no longer holds every event, so anomaly detection rebuilds them when it
-- next reads them. Run in the refresh's transaction, with the marks' consumption.
DELETE FROM hourly_built WHERE hour = ANY ($1::timestamptz[])
