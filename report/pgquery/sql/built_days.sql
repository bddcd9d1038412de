-- built_days: when each day of [$2, $3) in tz $1 was last aggregated (aggregate_days), to tell
-- whether another snapshot sees the same aggregates as the report did (snapshot.go).
-- $1 tz, $2 first day, $3 day after the last (date).
SELECT day, built_at FROM aggregate_days WHERE tz = $1 AND day >= $2::date AND day < $3::date ORDER BY day
