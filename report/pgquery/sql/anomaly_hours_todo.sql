-- anomaly_hours_todo: which of the UTC hours $1 (timestamptz[]) the hourly aggregate must
-- (re)build before anomaly detection reads them: never built, built for other tag keys than $2
-- (text[], sorted), or touched by a change mark not yet consumed (events that arrived since).
SELECT h
FROM unnest($1::timestamptz[]) AS h
WHERE NOT EXISTS (SELECT 1 FROM hourly_built b WHERE b.hour = h AND b.tag_keys = $2::text[])
   OR EXISTS (SELECT 1 FROM event_changes c WHERE c.hour = h)
ORDER BY h
