-- Writes refused for being outside the caller's scope: kept for accountability.
CREATE TABLE refused_commands (
    id          BIGSERIAL   PRIMARY KEY,
    refused_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    department  TEXT        NOT NULL,
    user_name   TEXT        NOT NULL,
    permission  TEXT        NOT NULL,
    target      TEXT,
    reason      TEXT        NOT NULL
);
CREATE INDEX refused_commands_department_idx ON refused_commands (department, refused_at);
