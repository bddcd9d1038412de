-- reprice_start: opens the record of a reprice of [$1, $2). Returns its id.
INSERT INTO reprices (range_from, range_to) VALUES ($1, $2) RETURNING id
