-- anomaly_spend: the hourly aggregate of the UTC hours $1 (timestamptz[]) for the scope keys $2
-- (text[]: service, model, provider, org_id, user_id, tag:<key>). Read by the primary key.
SELECT hour, dim, value, cost
FROM hourly_spend
WHERE hour = ANY ($1::timestamptz[]) AND dim = ANY ($2::text[])
