-- breakdown_days: the days of [$2, $3) in tz $1 whose chargeback breakdowns were built with
-- exactly the tag keys $4 (text[], in the configured order): the others are rebuilt.
SELECT day FROM breakdown_days WHERE tz = $1 AND day >= $2::date AND day < $3::date AND tag_keys = $4::text[]
