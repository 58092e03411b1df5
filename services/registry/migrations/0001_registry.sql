-- The registry's read tables, written in the same transaction as its events.

CREATE TABLE entities (
    entity_id              TEXT        PRIMARY KEY,          -- entity-<uuid>, the stream id
    uscc                   TEXT        NOT NULL,
    name                   TEXT        NOT NULL,
    name_key               TEXT        NOT NULL,
    kind                   TEXT        NOT NULL,
    subtype                TEXT        NOT NULL,
    district_code          TEXT        NOT NULL,
    street_code            TEXT        NOT NULL,
    level                  TEXT,
    supervising_department TEXT,
    industry               TEXT        NOT NULL,
    employees              INTEGER     NOT NULL,
    formal_members         INTEGER     NOT NULL,
    probationary_members   INTEGER     NOT NULL,
    address_key            TEXT,
    person_key             TEXT,
    facts                  JSONB       NOT NULL,              -- every survey fact, as in the events
    flags                  TEXT[]      NOT NULL DEFAULT '{}',
    duplicate_of           TEXT,
    approved_in            TEXT,                              -- the ledger unit whose approval admitted it
    in_baseline            BOOLEAN     GENERATED ALWAYS AS (approved_in IS NOT NULL AND cardinality(flags) = 0) STORED,
    version                INTEGER     NOT NULL,
    import_id              TEXT,
    registered_at          TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    CONSTRAINT entities_uscc_unique UNIQUE (uscc)
);
CREATE INDEX entities_district_idx ON entities (district_code, kind);
CREATE INDEX entities_street_idx ON entities (street_code, kind);
CREATE INDEX entities_name_key_idx ON entities (name_key);
CREATE INDEX entities_address_key_idx ON entities (address_key) WHERE address_key IS NOT NULL;
CREATE INDEX entities_person_key_idx ON entities (person_key) WHERE person_key IS NOT NULL;
CREATE INDEX entities_social_idx ON entities (level, supervising_department) WHERE kind = 'social_organization';

-- Possible shadow registrations, found automatically, decided by a person (market regulation).
CREATE TABLE shadow_candidates (
    entity_id     TEXT        NOT NULL,
    candidate_of  TEXT        NOT NULL,
    district_code TEXT        NOT NULL,
    score         REAL        NOT NULL,
    reasons       TEXT[]      NOT NULL,
    status        TEXT        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'flagged', 'dismissed')),
    decided_by    TEXT,
    found_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, candidate_of)
);
CREATE INDEX shadow_candidates_open_idx ON shadow_candidates (district_code) WHERE status = 'open';

CREATE TABLE ledgers (
    unit          TEXT        PRIMARY KEY,
    unit_kind     TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    district_code TEXT,
    status        TEXT        NOT NULL,
    submission    INTEGER     NOT NULL,
    entity_count  INTEGER     NOT NULL,
    approved_count INTEGER    NOT NULL DEFAULT 0,
    reasons       TEXT[]      NOT NULL DEFAULT '{}',
    version       INTEGER     NOT NULL,
    updated_by    TEXT        NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Spreadsheet imports: the outcome and the row-level error report.
CREATE TABLE imports (
    import_id       TEXT        PRIMARY KEY,
    idempotency_key TEXT        UNIQUE,
    form            TEXT        NOT NULL,
    filename        TEXT        NOT NULL,
    file_sha256     TEXT        NOT NULL,
    department      TEXT        NOT NULL,
    user_name       TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('imported', 'rejected')),
    row_count       INTEGER     NOT NULL,
    imported_count  INTEGER     NOT NULL,
    errors          JSONB       NOT NULL DEFAULT '[]',
    seconds         REAL        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
