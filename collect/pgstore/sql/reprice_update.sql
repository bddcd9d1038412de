-- reprice_update: fills the cost of events still unpriced. $1 event ids, $2 their occurred_at,
-- $3 costs, $4 cost sources, $5 price versions ('' for none), $6 exchange rates, as text arrays.
UPDATE events e
SET cost = u.cost, cost_source = u.source, price_version = NULLIF(u.version, ''), fx_rate = u.rate
FROM unnest($1::text[], $2::timestamptz[], $3::text[]::numeric[], $4::text[], $5::text[], $6::text[]::numeric[])
     AS u(event_id, occurred_at, cost, source, version, rate)
WHERE e.event_id = u.event_id AND e.occurred_at = u.occurred_at AND e.cost IS NULL
