-- Formation's own tables (search_path is the service schema).

-- Projection of registry.events: the facts formation needs about each entity.
CREATE TABLE known_entities (
    entity_id              TEXT PRIMARY KEY,
    name                   TEXT NOT NULL DEFAULT '',
    kind                   TEXT NOT NULL,
    subtype                TEXT NOT NULL,
    level                  TEXT,
    supervising_department TEXT,
    district_code          TEXT NOT NULL,
    street_code            TEXT,
    industry               TEXT NOT NULL,
    declared_formal        INTEGER NOT NULL DEFAULT 0,
    declared_probationary  INTEGER NOT NULL DEFAULT 0,
    approved               BOOLEAN NOT NULL DEFAULT FALSE,
    ledger_unit            TEXT,
    flags                  TEXT[] NOT NULL DEFAULT '{}'
);
CREATE INDEX known_entities_district ON known_entities (district_code);
CREATE INDEX known_entities_unit ON known_entities (ledger_unit);

-- Ledger approvals that arrived before the entity's registration (topics are not ordered together).
CREATE TABLE pending_approvals (
    entity_id   TEXT PRIMARY KEY,
    ledger_unit TEXT NOT NULL
);

-- Projection of membership.events: where each member works and their standing.
CREATE TABLE member_positions (
    member_id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL,
    standing  TEXT NOT NULL,
    active    BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX member_positions_entity ON member_positions (entity_id) WHERE active;

-- Entities named by any membership event: from then on the membership-derived count is authoritative.
CREATE TABLE member_counted_entities (
    entity_id TEXT PRIMARY KEY
);

-- Projection of reporting.events: signed audit checkpoints (spot-check seeds).
CREATE TABLE audit_checkpoints (
    checkpoint_id INTEGER NOT NULL,
    origin        TEXT NOT NULL,
    tree_size     BIGINT NOT NULL,
    root_hash     TEXT NOT NULL,
    signed_at     TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (origin, checkpoint_id)
);

-- Read tables written in the transaction that appends formation's own events.
CREATE TABLE organizations (
    organization_id   TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    mode              TEXT NOT NULL,
    level             TEXT NOT NULL,
    district_code     TEXT NOT NULL,
    street_code       TEXT,
    grouping_basis    TEXT,
    grouping_detail   TEXT,
    affiliation       JSONB NOT NULL,
    formed_on         DATE NOT NULL,
    dissolved_on      DATE,
    restructured_from TEXT,
    version           INTEGER NOT NULL
);
CREATE INDEX organizations_district ON organizations (district_code);

CREATE TABLE coverage (
    organization_id TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    since           DATE NOT NULL,
    until           DATE,
    PRIMARY KEY (organization_id, entity_id)
);
CREATE INDEX coverage_entity ON coverage (entity_id) WHERE active;

CREATE TABLE tasks (
    entity_id       TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    organization_id TEXT,
    check_id        TEXT,
    reopened        INTEGER NOT NULL DEFAULT 0,
    last_reason     TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    updated_on      DATE
);

CREATE TABLE checks (
    check_id        TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    check_kind      TEXT NOT NULL,
    passed          BOOLEAN NOT NULL,
    findings        JSONB NOT NULL,
    checked_on      DATE NOT NULL,
    inspector_unit  TEXT NOT NULL,
    spot_check_id   TEXT
);
CREATE INDEX checks_organization ON checks (organization_id);

CREATE TABLE work_coverage (
    source_id TEXT NOT NULL,  -- assignment-<uuid> or massorg-<uuid>
    entity_id TEXT NOT NULL,
    kind      TEXT NOT NULL,  -- instructor, first_secretary, trade_union, youth_league, womens_federation
    since     DATE NOT NULL,
    PRIMARY KEY (source_id, entity_id)
);
CREATE INDEX work_coverage_entity ON work_coverage (entity_id);

-- The instructor's name: personal data, never in an event.
CREATE TABLE instructors (
    instructor_id TEXT PRIMARY KEY,
    name          TEXT NOT NULL
);

CREATE TABLE spot_check_samples (
    spot_check_id TEXT NOT NULL,
    district_code TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    rank          INTEGER NOT NULL,
    PRIMARY KEY (spot_check_id, entity_id)
);
