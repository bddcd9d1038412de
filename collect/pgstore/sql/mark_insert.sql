-- mark_insert: the change marks and sums of the rows this transaction inserted into events,
-- written by the writer itself where no trigger writes them (Citus: migration 00018), as the
-- trigger writes them (migration 00012): one mark per UTC hour with the number of rows, naming
-- this transaction (the rows' ingest_xact: the column default, evaluated by the coordinator),
-- and, when the statement wrote at most 5,000 rows ($3 summed), the rows' sums per hour and
-- dimensions. The marks take the shared lock that a refresh waits for (report/pgquery
-- marks_barrier.sql), held until this transaction's rows are committed on every worker too.
-- $1 hours (timestamptz[]), $2 rows per hour (bigint[]), $3 summed; then one element per sum:
-- $4 hour, $5 service, $6 model, $7 provider, $8 org_id, $9 user_id ('' when absent), $10 cost
-- (text, exact), $11 requests, $12 unpriced.
WITH marks AS (
    INSERT INTO event_changes (hour, xact, rows, summed)
    SELECT h, txid_current(), n, $3 FROM unnest($1::timestamptz[], $2::bigint[]) AS m(h, n),
         (SELECT pg_advisory_xact_lock_shared(hashtextextended('aispend.event_marks', 0))) AS l
)
INSERT INTO event_change_sums (hour, xact, service, model, provider, org_id, user_id, cost, requests, unpriced)
SELECT h, txid_current(), service, model, provider, org_id, user_id, cost::numeric, requests, unpriced
FROM unnest($4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
            $11::bigint[], $12::bigint[]) AS s(h, service, model, provider, org_id, user_id, cost, requests, unpriced)
