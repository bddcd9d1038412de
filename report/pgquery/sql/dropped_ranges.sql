-- dropped_ranges: the time ranges of event partitions dropped by retention; their days are
-- never rebuilt from events again.
-- Returns range_start, range_end.
SELECT range_start, range_end FROM dropped_partitions ORDER BY range_start
