-- R10b: setup milestones, written with their events (GatheringZoneDeclared, SetupMilestoneRecorded) in one
-- transaction. One row per milestone and scope (a district's, or one of its gathering zones').
CREATE TABLE gathering_zones (
    zone_id       TEXT PRIMARY KEY,
    district_code TEXT NOT NULL,
    street_code   TEXT,
    name          TEXT NOT NULL,
    zone_kind     TEXT NOT NULL,
    declared_on   DATE NOT NULL,
    UNIQUE (district_code, name)
);

CREATE TABLE setup_milestones (
    stream_id       TEXT PRIMARY KEY,
    milestone       TEXT NOT NULL,
    district_code   TEXT NOT NULL,
    zone_id         TEXT,
    done_on         DATE NOT NULL,
    document_number TEXT,
    document_title  TEXT,
    document_sha256 TEXT,
    committee_kind  TEXT,
    recorded_on     DATE NOT NULL
);
CREATE INDEX setup_milestones_district ON setup_milestones (district_code);
