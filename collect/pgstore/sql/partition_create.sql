-- partition_create: the partition of events for one month. DDL takes no parameters: the caller
-- replaces /*partition*/ with the quoted name and /*from*/, /*to*/ with quoted timestamptz
-- literals (pgstore builds all three, never from input).
CREATE TABLE IF NOT EXISTS /*partition*/ PARTITION OF events FOR VALUES FROM (/*from*/) TO (/*to*/)
