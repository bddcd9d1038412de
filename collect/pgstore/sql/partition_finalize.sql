-- partition_finalize: finish a DETACH … CONCURRENTLY that was interrupted. The caller replaces
-- /*partition*/ with the quoted name.
ALTER TABLE events DETACH PARTITION /*partition*/ FINALIZE
