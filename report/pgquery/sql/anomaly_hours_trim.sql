-- anomaly_hours_trim: forgets the hourly aggregate of hours before $1, which no baseline reads
-- any more (the day window's oldest weekday lies 29 days back).
WITH b AS (DELETE FROM hourly_built WHERE hour < $1)
DELETE FROM hourly_spend WHERE hour < $1
