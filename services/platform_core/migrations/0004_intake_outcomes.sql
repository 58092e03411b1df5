-- The intake's outcome outbox (docs/intake.md): each command's outcome is written in the transaction of the
-- command itself, then published to intake.<department>.results and marked. A repeated ce_id gets a row of its own with
-- the first outcome's bytes (two identical outcomes).
CREATE TABLE intake_outcomes (
    id           BIGSERIAL   PRIMARY KEY,
    department   TEXT        NOT NULL,  -- the intake department's name: the key on intake.<department>.results
    ce_id        TEXT        NOT NULL,
    outcome      BYTEA       NOT NULL,  -- the JSON published, byte for byte
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX intake_outcomes_command_idx ON intake_outcomes (department, ce_id, id);
CREATE INDEX intake_outcomes_unpublished_idx ON intake_outcomes (id) WHERE published_at IS NULL;
