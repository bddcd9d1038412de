-- lock_timeout_reset: the session's lock_timeout back to its default, before the connection
-- returns to the pool.
RESET lock_timeout
