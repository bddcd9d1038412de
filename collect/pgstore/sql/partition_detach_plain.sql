-- partition_detach_plain: detach a partition of events in one transaction, waiting for the
-- inserts into events to finish: on Citus, which does not support DETACH … CONCURRENTLY. The
-- caller replaces /*partition*/ with the quoted name.
ALTER TABLE events DETACH PARTITION /*partition*/
