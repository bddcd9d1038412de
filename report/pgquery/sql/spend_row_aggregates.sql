-- One scope's cost (text, exact), events and unpriced events over event rows, appended once per
-- query at /*scopes*/ of spend_batch.sql (with or without pending_rows.sql): %[1]s is the scope's predicate
-- (scope.sql, renumbered).
, coalesce(sum(cost) FILTER (WHERE %[1]s), 0)::text,
  count(*) FILTER (WHERE %[1]s),
  count(*) FILTER (WHERE cost IS NULL AND %[1]s)
