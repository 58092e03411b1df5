-- The dashboard's sign-in sessions (services/reporting/dashboard/sessions.py): the browser holds only a
-- random session id in an HttpOnly cookie; the row holds the principal the token named and the expiry.
-- The id is stored as its SHA-256, so reading this table gives no cookie one could replay.
CREATE TABLE dashboard_sessions (
    id_sha256  BYTEA       PRIMARY KEY CHECK (octet_length(id_sha256) = 32),
    principal  JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
