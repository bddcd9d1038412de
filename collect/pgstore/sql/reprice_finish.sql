-- reprice_finish: closes the record of reprice $1. Returns the events it changed.
UPDATE reprices SET finished_at = now() WHERE id = $1 RETURNING events
