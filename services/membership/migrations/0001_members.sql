-- Membership's own tables (search_path is the service schema).

-- Personal data: only here, sealed with AES-256-GCM; id_hash is HMAC-SHA256 of the
-- identity number under a key derived from CAMPAIGN_PERSONAL_DATA_KEY, for duplicates.
CREATE TABLE member_identities (
    member_id        TEXT PRIMARY KEY,
    id_hash          BYTEA NOT NULL UNIQUE,
    id_number_sealed BYTEA NOT NULL,
    name_sealed      BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Current state of each member, written in the transaction that appends its events.
-- One row per member, one organization_id column: one primary registration at a time (R13).
CREATE TABLE members (
    member_id       TEXT PRIMARY KEY,
    standing        TEXT NOT NULL CHECK (standing IN ('formal', 'probationary')),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    way             TEXT NOT NULL CHECK (way IN ('found', 'developed', 'recruited')),
    admitted_on     DATE NOT NULL,
    entity_id       TEXT NOT NULL,
    organization_id TEXT,
    version         INTEGER NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX members_entity ON members (entity_id) WHERE active;
CREATE INDEX members_organization ON members (organization_id) WHERE active;

-- R5: memberships of functional organizations besides the primary registration.
CREATE TABLE functional_memberships (
    member_id       TEXT NOT NULL REFERENCES members (member_id),
    organization_id TEXT NOT NULL,
    added_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, organization_id)
);
CREATE INDEX functional_memberships_organization ON functional_memberships (organization_id);

-- The four ways of growing membership (四个一批), one row per event, dated in city time.
CREATE TABLE member_growth (
    event_id      UUID PRIMARY KEY,
    member_id     TEXT NOT NULL,
    way           TEXT NOT NULL CHECK (way IN ('found', 'revealed', 'developed', 'recruited')),
    entity_id     TEXT NOT NULL,
    business_date DATE NOT NULL,
    period        TEXT NOT NULL
);
CREATE INDEX member_growth_period ON member_growth (period, way);

-- Projection of registry.events (EntityRegistered only): where each entity lies.
CREATE TABLE known_entities (
    entity_id     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    district_code TEXT NOT NULL,
    street_code   TEXT,
    event_id      UUID NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX known_entities_district ON known_entities (district_code);
