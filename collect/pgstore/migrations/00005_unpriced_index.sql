-- +goose Up
-- Re-pricing looks for unpriced events; they are rare, so a partial index keeps that lookup
-- small and costs priced inserts nothing but the predicate check.
CREATE INDEX events_unpriced ON events (occurred_at, event_id) WHERE cost IS NULL;

-- +goose Down
DROP INDEX events_unpriced;
