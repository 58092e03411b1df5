-- As-of snapshots (reporting.adapters.as_of_snapshots, docs/reporting.md "As-of figures"): the fold of every
-- event recorded at or before covers_until, so GET /rates?as_of= folds only the events after the nearest
-- one. Per partition ("topic:partition"), resume_offsets is the first offset holding an event recorded after
-- covers_until and stop_offsets one past the last holding one recorded at or before it. state is zlib of the
-- canonical JSON whose SHA-256 is state_sha256; events_digest (hex) is the sum of the SHA-256 of the event ids
-- it covers, modulo 2^256. Re-derivable from the log (`campaign-reporting as-of-snapshots --verify`).
CREATE TABLE as_of_snapshots (
    topics         TEXT        NOT NULL,  -- the topics folded, sorted and comma-joined
    covers_until   TIMESTAMPTZ NOT NULL,
    resume_offsets JSONB       NOT NULL,
    stop_offsets   JSONB       NOT NULL,
    events_applied BIGINT      NOT NULL CHECK (events_applied >= 0),
    events_digest  TEXT        NOT NULL CHECK (events_digest ~ '^[0-9a-f]{64}$'),
    state_sha256   TEXT        NOT NULL CHECK (state_sha256 ~ '^[0-9a-f]{64}$'),
    -- finer stops inside the interval this snapshot closes: [[moment, {"topic:partition": stop}], ...]
    marks          JSONB       NOT NULL DEFAULT '[]',
    state          BYTEA       NOT NULL,
    built_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topics, covers_until)
);
