-- first_event: the first event of [$1, $2) while it is still stored (NULL once retention dropped
-- it), found through the BRIN index on occurred_at.
SELECT min(occurred_at) FROM events WHERE occurred_at >= $1 AND occurred_at < $2
