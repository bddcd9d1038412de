-- raw_read_settings: tunes a transaction for reading narrow time ranges of the events: no JIT
-- (compiling costs more than these scans), no sequential scan, which the planner (pricing
-- each heap page as a random read) picks over the BRIN index even for one day of a month's
-- partition, scanning thirty times the rows; and a plan for each execution's own parameters
-- (pending_rows.sql: how many transactions are pending changes from one read to the next, and
-- a long-running collector would otherwise settle on a generic plan after five executions).
SET LOCAL jit = off; SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_custom_plan
