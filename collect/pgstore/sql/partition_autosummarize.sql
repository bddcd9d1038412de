-- partition_autosummarize: summarize each block range of a partition's BRIN index as soon as it
-- is full (migration 00009). The caller replaces /*index*/ with the quoted index name.
ALTER INDEX /*index*/ SET (autosummarize = on)
