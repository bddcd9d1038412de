-- partition_detach: detach a partition of events without blocking inserts into the others
-- (outside any transaction). The caller replaces /*partition*/ with the quoted name.
ALTER TABLE events DETACH PARTITION /*partition*/ CONCURRENTLY
