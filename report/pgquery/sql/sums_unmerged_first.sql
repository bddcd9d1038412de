-- sums_unmerged_first: the first pending sum that sums_compact.sql would merge (by transaction),
-- if any: whether a merge has anything to do. A collector merges every second; with nothing to
-- merge, the merge statement still scanned the whole of event_change_sums, its planner misled by
-- statistics from before the last burst (every sum of the burst merged, the table left large and
-- mostly dead): 25–70 ms of the database every second on every collector, idle or not. This reads
-- the partial index event_change_sums_unmerged in order, as an index scan, which marks the entries
-- of removed sums dead as it passes them so that the next reads skip them (a tenth of a
-- millisecond), and passes over the sums that a merge leaves alone (sums_compact.sql).
SELECT xact
FROM event_change_sums
WHERE xact <> 0
  AND xact <> ALL (ARRAY(SELECT xact FROM event_changes WHERE NOT summed AND xact IS NOT NULL))
ORDER BY xact
LIMIT 1
