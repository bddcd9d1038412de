-- distributed: whether events is a Citus distributed table (migration 00018): then no trigger
-- writes its change marks (Citus refuses statement triggers on a distributed table) and every
-- writer of events writes them in its own transaction (marks.go), a COPY's errors come back as
-- SQLSTATE XX000 whatever their cause, and a partition is detached without CONCURRENTLY.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
   AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'events'::regclass AND tgname = 'events_changed_insert')
