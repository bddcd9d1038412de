-- mark_hours: change marks naming no transaction for the UTC hours of the given instants, written
-- by a writer that updated or deleted rows of events where no trigger marks them (Citus:
-- migration 00018), as the trigger marks an update or a delete (migration 00010): the job
-- rebuilds the days of those hours from the events.
-- The marks take the shared lock of mark_insert.sql.
-- $1 instants (timestamptz[]).
INSERT INTO event_changes (hour)
SELECT DISTINCT date_trunc('hour', t, 'UTC')
FROM unnest($1::timestamptz[]) AS u(t), (SELECT pg_advisory_xact_lock_shared(hashtextextended('aispend.event_marks', 0))) AS l
