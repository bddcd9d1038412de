-- breakdowns_delete: removes the chargeback breakdowns of the given days before they are rebuilt
-- (breakdowns_insert.sql, same transaction).
-- $1 tz (IANA name), $2 days (date[]).
DELETE FROM daily_breakdowns WHERE tz = $1 AND day = ANY ($2::date[])
