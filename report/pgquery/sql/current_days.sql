-- current_days: the days in tz whose aggregates are current (built after every consumed change).
-- $1 tz, $2 first day, $3 day after the last (date).
SELECT day FROM aggregate_days WHERE tz = $1 AND day >= $2::date AND day < $3::date ORDER BY day
