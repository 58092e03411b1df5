-- Named worker processes (relay, consumers) and their heartbeats; a service's /readyz reports a dead one
-- (platform_core.workers).
CREATE TABLE workers (
    worker      TEXT        PRIMARY KEY,
    state       TEXT        NOT NULL CHECK (state IN ('running', 'stopped', 'failed')),
    detail      TEXT,
    pid         INT,
    host        TEXT,
    started_at  TIMESTAMPTZ NOT NULL,
    beat_at     TIMESTAMPTZ NOT NULL
);
