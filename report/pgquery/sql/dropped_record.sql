-- dropped_record: records that an event partition is being dropped by retention, before it is
-- detached, so that its days are never rebuilt from an empty re-created partition.
-- $1 name, $2 range start, $3 range end.
INSERT INTO dropped_partitions (name, range_start, range_end) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET dropped_at = now()
