-- Data keys of personal data (platform_core/vault.py): one random key per data subject (a member, the
-- persons record of an entity), stored only wrapped by the service's master key. Erasure deletes the
-- subject's row (crypto-shredding): what it sealed can never be opened again. The service's database
-- role needs DELETE on this table and on no other (docs/security.md, "Personal data").
CREATE TABLE personal_data_keys (
    subject_id    TEXT        PRIMARY KEY,
    master_key_id TEXT        NOT NULL,  -- which master key wrapped it (rotation re-wraps)
    wrapped_key   BYTEA       NOT NULL,  -- AES-256-GCM, associated data = subject_id
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    rewrapped_at  TIMESTAMPTZ
);
CREATE INDEX personal_data_keys_master_idx ON personal_data_keys (master_key_id);
