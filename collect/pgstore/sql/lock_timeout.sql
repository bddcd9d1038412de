-- lock_timeout: how long DDL on events waits for its locks, so that it never queues behind a
-- long report for ever (and every insert behind it).
-- $1 the timeout ('10s', '5000ms'), $2 true: for the transaction only, false: for the session.
SELECT set_config('lock_timeout', $1, $2)
