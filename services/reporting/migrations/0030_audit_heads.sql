-- The log's head, append-only: a row per append (the log's size and root after it); the largest size is
-- the head. The appender needs INSERT only (docs/security.md): appends are serialized by an advisory
-- lock (AuditLogStore.append), and the primary key refuses a second row of one size should two race.
CREATE TABLE audit_heads (
    tree_size   BIGINT      PRIMARY KEY CHECK (tree_size >= 0),
    root_hash   BYTEA       NOT NULL CHECK (octet_length(root_hash) = 32),
    appended_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO audit_heads (tree_size, root_hash) SELECT tree_size, root_hash FROM audit_head;
DROP TABLE audit_head;

CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION forbid_event_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_event_change();
