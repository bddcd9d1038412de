-- lock_release: releases the session advisory lock named $1 held by this session (lock_try).
-- $1 lock name (text).
SELECT pg_advisory_unlock(hashtextextended($1, 0))
