-- Entities' persons (person in charge, whether that person is a member, legal representative, address)
-- leave the events (registry.events v2) and the facts column: each record is sealed here with its own
-- data key (personal_data_keys, subject = persons_ref; platform_core/vault.py). Erasure deletes the key,
-- clears sealed and notes when and why; the row stays. address_key and person_key now hold keyed hashes
-- (HMAC-SHA256 hex), not normalized text. Rows written before are sealed when the service starts
-- (registry/adapters/legacy_persons.py).
CREATE TABLE entity_persons (
    persons_ref    TEXT        PRIMARY KEY,              -- persons-<uuid>: the reference events carry
    entity_id      TEXT        NOT NULL,
    sealed         BYTEA,                                -- the record as JSON, AES-256-GCM; NULL once erased
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at      TIMESTAMPTZ,
    erasure_reason TEXT,
    CONSTRAINT entity_persons_sealed_until_erased CHECK ((sealed IS NULL) = (erased_at IS NOT NULL))
);
CREATE INDEX entity_persons_entity_idx ON entity_persons (entity_id);

ALTER TABLE entities ADD COLUMN persons_ref TEXT;  -- the entity's latest record (readable, or erased)
