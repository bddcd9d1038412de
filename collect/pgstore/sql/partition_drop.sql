-- partition_drop: drop a detached partition of events. The caller replaces /*partition*/ with
-- the quoted name.
DROP TABLE /*partition*/
