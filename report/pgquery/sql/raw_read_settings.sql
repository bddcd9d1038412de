-- raw_read_settings: tunes a transaction for reading narrow time ranges of the events: no JIT
-- (compiling costs more than these scans), and no sequential scan, which the planner (pricing
-- each heap page as a random read) picks over the BRIN index even for one day of a month's
-- partition, scanning thirty times the rows.
SET LOCAL jit = off; SET LOCAL enable_seqscan = off
