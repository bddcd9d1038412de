-- aggregates_unlock: releases aggregates_lock.
SELECT pg_advisory_unlock(hashtextextended('aispend.daily_aggregates', 0))
