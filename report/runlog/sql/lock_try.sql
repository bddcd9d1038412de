-- lock_try: takes the session advisory lock named $1 if no other session holds it; true when
-- taken. hashtextextended turns the name into the bigint key the same way on every machine.
-- $1 lock name (text).
SELECT pg_try_advisory_lock(hashtextextended($1, 0))
