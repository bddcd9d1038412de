-- mark_join_settings: for the statement that joins event rows to change marks
-- (apply_deltas.sql): no nested loop. The planner estimates the rows of
-- recent transactions from statistics that predate them (about one row), so it would loop over
-- the marks once per row, quadratic in the commits since the last refresh (16 s for 2,400
-- commits); a hash join costs one probe per row. mark_join_reset.sql restores the default.
SET LOCAL enable_nestloop = off
