-- R9: 一企一策 / 一社一策 plans, written with their events (PlanCreated, PlanRevised, PlanProgressNoted) in one
-- transaction. The responsible person's name is personal data: it stays here, events carry `responsible_id`.
CREATE TABLE plans (
    plan_id          TEXT PRIMARY KEY,
    entity_id        TEXT NOT NULL UNIQUE,
    label            TEXT NOT NULL,
    district_code    TEXT NOT NULL,
    street_code      TEXT,
    ledger_unit      TEXT,
    measures         JSONB NOT NULL,
    target_date      DATE NOT NULL,
    responsible_id   TEXT NOT NULL,
    responsible_role TEXT NOT NULL,
    revision         INTEGER NOT NULL DEFAULT 0,
    created_on       DATE NOT NULL,
    revised_on       DATE,
    last_note        TEXT,
    last_noted_on    DATE,
    notes            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX plans_target_date ON plans (target_date);

CREATE TABLE plan_notes (
    plan_id  TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    note     TEXT NOT NULL,
    noted_on DATE NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

CREATE TABLE plan_responsibles (
    responsible_id TEXT PRIMARY KEY,
    name           TEXT NOT NULL
);
