-- One scope's cost (text, exact), events and unpriced events over event_change_sums rows,
-- appended once per query at /*scopes*/ of pending_sums.sql: %[1]s is the scope's predicate
-- (scope.sql, renumbered).
, coalesce(sum(cost) FILTER (WHERE %[1]s), 0)::text,
  coalesce(sum(requests) FILTER (WHERE %[1]s), 0)::bigint,
  coalesce(sum(unpriced) FILTER (WHERE %[1]s), 0)::bigint
