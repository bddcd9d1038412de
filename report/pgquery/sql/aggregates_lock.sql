-- aggregates_lock: the lock of aggregates_xact_lock for the session, taken before a refresh's
-- REPEATABLE READ transaction begins (so that its snapshot sees the refresh before it).
SELECT pg_advisory_lock(hashtextextended('aispend.daily_aggregates', 0))
