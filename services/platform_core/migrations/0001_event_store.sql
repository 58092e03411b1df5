-- The event store, its outbox and consumer tracking, created in each service's own schema
-- (the runner sets search_path to that schema).

CREATE TABLE events (
    global_position BIGSERIAL PRIMARY KEY,
    event_id        UUID        NOT NULL UNIQUE,
    stream_id       TEXT        NOT NULL,
    stream_version  INTEGER     NOT NULL CHECK (stream_version >= 1),
    type            TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL CHECK (schema_version >= 1),
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    actor           JSONB       NOT NULL,
    payload         JSONB       NOT NULL,
    canonical       BYTEA       NOT NULL,  -- the exact bytes published and audited
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_type_idx ON events (type);

-- Append-only: no event is ever updated or deleted.
CREATE FUNCTION forbid_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_event_change();

-- A repeated command with the same key returns the first result and writes nothing.
CREATE TABLE idempotency_keys (
    idempotency_key TEXT        PRIMARY KEY,
    request_hash    TEXT        NOT NULL,
    stream_id       TEXT        NOT NULL,
    event_ids       UUID[]      NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Written in the same transaction as the events; the relay publishes and marks it.
CREATE TABLE outbox (
    id           BIGSERIAL   PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE REFERENCES events (event_id),
    topic        TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Projection consumers store their offsets and the events they applied in the
-- same transaction as the projection update (effectively once).
CREATE TABLE consumer_offsets (
    group_id    TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset BIGINT  NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

CREATE TABLE processed_events (
    group_id   TEXT NOT NULL,
    event_id   UUID NOT NULL,
    PRIMARY KEY (group_id, event_id)
);
