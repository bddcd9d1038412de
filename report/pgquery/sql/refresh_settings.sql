-- refresh_settings: the session settings of a refresh, for its transaction. The rebuild's hash
-- aggregation holds about 100,000 groups per day of the demo: work_mem keeps it in memory (it
-- spills to disk and takes several times longer at the default 4 MB). No JIT (compiling costs
-- more than these statements). No sequential scan: the planner prices each heap page of a BRIN
-- bitmap scan as a random read and would scan every partition for a day or a few transactions.
SET LOCAL work_mem = '256MB'; SET LOCAL jit = off; SET LOCAL enable_seqscan = off
