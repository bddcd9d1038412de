-- aggregates_xact_lock: one refresh of the daily aggregates at a time, until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('aispend.daily_aggregates', 0))
