-- The audit log: one RFC 6962 Merkle log of every event of every topic, in the order appended.
-- Leaves keep the exact canonical bytes that were hashed; audit_nodes keeps the hash of every
-- complete subtree (level >= 1), so roots and proofs need O(log n) reads.

CREATE TABLE audit_log (
    leaf_index       BIGINT      PRIMARY KEY CHECK (leaf_index >= 0),
    event_id         UUID        NOT NULL UNIQUE,           -- second guard against duplicates
    leaf_hash        BYTEA       NOT NULL CHECK (octet_length(leaf_hash) = 32),
    canonical        BYTEA       NOT NULL,                  -- SHA-256(0x00 || canonical) = leaf_hash
    event_type       TEXT        NOT NULL,
    stream_id        TEXT        NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    actor_department TEXT        NOT NULL,
    entities         TEXT[]      NOT NULL DEFAULT '{}',     -- search terms, not hashed
    units            TEXT[]      NOT NULL DEFAULT '{}',
    appended_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_type_idx ON audit_log (event_type, recorded_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_department, recorded_at);
CREATE INDEX audit_log_recorded_idx ON audit_log (recorded_at);
CREATE INDEX audit_log_entities_idx ON audit_log USING GIN (entities);
CREATE INDEX audit_log_units_idx ON audit_log USING GIN (units);

CREATE TABLE audit_nodes (
    level SMALLINT NOT NULL CHECK (level >= 1 AND level < 64),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    hash  BYTEA    NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- One row: the log's current size and root. Appenders lock it, which serializes them.
CREATE TABLE audit_head (
    singleton  BOOLEAN     PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    tree_size  BIGINT      NOT NULL CHECK (tree_size >= 0),
    root_hash  BYTEA       NOT NULL CHECK (octet_length(root_hash) = 32),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO audit_head (tree_size, root_hash)
    VALUES (0, decode('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'));

-- Every checkpoint ever signed, with the signed note as published.
CREATE TABLE audit_checkpoints (
    id           BIGSERIAL   PRIMARY KEY,
    origin       TEXT        NOT NULL,
    tree_size    BIGINT      NOT NULL CHECK (tree_size >= 0),
    root_hash    BYTEA       NOT NULL CHECK (octet_length(root_hash) = 32),
    signed_at    TIMESTAMPTZ NOT NULL,
    verifier_key TEXT        NOT NULL,                      -- <name>+<key id>+<base64 public key>
    reason       TEXT        NOT NULL,                      -- schedule | bulletin | manual
    note         TEXT        NOT NULL
);
CREATE INDEX audit_checkpoints_signed_idx ON audit_checkpoints (signed_at);
CREATE INDEX audit_checkpoints_size_idx ON audit_checkpoints (tree_size);

-- Append-only, like the event store (forbid_event_change comes with the core migration).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION forbid_event_change();
