-- anomaly_hours_delete: removes the hourly aggregate of the UTC hours in [$1, $2) before they are
-- rebuilt (anomaly_hours_insert.sql), in the same transaction.
DELETE FROM hourly_spend WHERE hour >= $1 AND hour < $2
