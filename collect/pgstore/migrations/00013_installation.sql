-- +goose Up
-- installation: one row, this installation's id, drawn once when the schema is made. It goes
-- into every Message-ID (report.MessageID): two installations (another database) never send the
-- same Message-ID for the same budget period or digest, where mail clients would thread or drop
-- them together, while the same installation's re-sends keep theirs. Migrations never rewrite it
-- (goose applies this once); a restored dump keeps it, a new database gets a new one.
CREATE TABLE installation (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation DEFAULT VALUES;

-- +goose Down
DROP TABLE installation;
