-- Each member's identity is sealed with the member's own data key (personal_data_keys, subject = the
-- member id; platform_core/vault.py). Erasure (crypto-shredding) deletes that key and clears the sealed
-- values and the duplicate-detection hash; the row stays as the record that the identity was erased.
-- Rows sealed before, under one key for all, are re-sealed when the service starts
-- (membership/adapters/legacy_identities.py).
ALTER TABLE member_identities
    ALTER COLUMN id_hash DROP NOT NULL,
    ALTER COLUMN id_number_sealed DROP NOT NULL,
    ALTER COLUMN name_sealed DROP NOT NULL,
    ADD COLUMN erased_at TIMESTAMPTZ,
    ADD COLUMN erasure_reason TEXT,
    ADD CONSTRAINT member_identities_sealed_until_erased CHECK (
        (erased_at IS NULL) = (id_hash IS NOT NULL AND id_number_sealed IS NOT NULL AND name_sealed IS NOT NULL));
