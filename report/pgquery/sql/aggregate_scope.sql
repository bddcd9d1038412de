-- aggregate_scope: the predicate of a budget scope on daily_aggregates, for spend_aggregates and
-- drivers_aggregates. The aggregates keep no tags: a scope on a tag is read from the events
-- (scope.sql).
-- $1 service, $2 model, $3 provider, $4 org_id, $5 user_id ('' = no filter); the caller
-- renumbers the parameters (renumber).
(($1 = '' OR service = $1) AND ($2 = '' OR model = $2) AND ($3 = '' OR provider = $3)
 AND ($4 = '' OR org_id = $4) AND ($5 = '' OR user_id = $5))
