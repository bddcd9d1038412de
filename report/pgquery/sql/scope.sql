-- scope: the predicate of a budget scope on events, for spend_batch and budget_drivers.
-- $1 service, $2 model, $3 provider, $4 org_id, $5 user_id, $6 tag key, $7 tag value ('' = no
-- filter); the caller renumbers the parameters (scopeAt).
(($1 = '' OR service = $1) AND ($2 = '' OR model = $2) AND ($3 = '' OR provider = $3)
 AND ($4 = '' OR org_id = $4) AND ($5 = '' OR user_id = $5) AND ($6 = '' OR tags ->> $6 = $7))
