-- Registrations outside the campaign, releases across territories, formation's organizations (docs/membership.md).

-- The name of a body outside the campaign the member is registered with (organization_id is then NULL).
ALTER TABLE members ADD COLUMN outside_organization TEXT;

-- Releases (转出) awaiting the target's acceptance (转入), and how each ended; written with the events.
CREATE TABLE member_releases (
    release_id              TEXT PRIMARY KEY,
    member_id               TEXT NOT NULL REFERENCES members (member_id),
    moves                   TEXT NOT NULL CHECK (moves IN ('registration', 'workplace')),
    from_entity_id          TEXT NOT NULL,
    to_entity_id            TEXT NOT NULL,
    to_district_code        TEXT NOT NULL,
    to_organization_id      TEXT,
    to_outside_organization TEXT,
    released_on             DATE NOT NULL,
    expires_on              DATE NOT NULL,
    state                   TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'withdrawn', 'lapsed', 'void')),
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX member_releases_incoming ON member_releases (to_district_code) WHERE state = 'pending';
-- At most one pending release per member (the decision refuses a second; this keeps the table honest).
CREATE UNIQUE INDEX member_releases_one_pending ON member_releases (member_id) WHERE state = 'pending';

-- Projection of formation.events: which organizations exist, are active, and cover which entities.
CREATE TABLE known_organizations (
    organization_id TEXT PRIMARY KEY,
    mode            TEXT NOT NULL,
    district_code   TEXT NOT NULL,
    entity_ids      TEXT[] NOT NULL,
    active          BOOLEAN NOT NULL,
    event_id        UUID NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);
