-- aggregates_try_xact_lock: aggregates_xact_lock.sql without waiting: true when taken (until the
-- transaction ends), false when a refresh holds it.
SELECT pg_try_advisory_xact_lock(hashtextextended('aispend.daily_aggregates', 0))
