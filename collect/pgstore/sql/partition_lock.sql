-- partition_lock: serialises creating partitions of events, for the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('aispend.partitions', 0))
