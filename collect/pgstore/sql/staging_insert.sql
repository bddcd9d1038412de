-- staging_insert: inserts the staged rows that are new and returns their keys: what tells the
-- collector which of a batch were duplicates. In key order, as the COPY: COLLATE "C" compares
-- bytes, as Go's string comparison does (rows locked in the same order never deadlock).
INSERT INTO events SELECT * FROM incoming
ORDER BY event_id COLLATE "C", occurred_at
ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING event_id, occurred_at
