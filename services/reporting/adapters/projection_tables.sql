-- Reporting projections: disposable, rebuilt from Kafka by `python -m reporting.entrypoints.cli replay`.
-- Created with CREATE ... IF NOT EXISTS by the processor and by replay (not a migration: replay drops them).
-- Raw state, each table owned by one kind of stream:
CREATE TABLE IF NOT EXISTS rp_entities (entity_id TEXT PRIMARY KEY, facts JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS rp_approvals (entity_id TEXT PRIMARY KEY, unit TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rp_flags (entity_id TEXT PRIMARY KEY, flags TEXT[] NOT NULL);
CREATE TABLE IF NOT EXISTS rp_members (
    member_id TEXT PRIMARY KEY, entity_id TEXT NOT NULL, standing TEXT NOT NULL, active BOOLEAN NOT NULL);
CREATE INDEX IF NOT EXISTS rp_members_entity_idx ON rp_members (entity_id);
CREATE TABLE IF NOT EXISTS rp_coverage (
    organization_id TEXT NOT NULL, entity_id TEXT NOT NULL, mode TEXT NOT NULL,
    PRIMARY KEY (organization_id, entity_id));
CREATE INDEX IF NOT EXISTS rp_coverage_entity_idx ON rp_coverage (entity_id);
-- When each organization covered each entity (recorded_at of OrganizationFormed and of the
-- OrganizationRestructured/Dissolved that ended it): deadlines judged as of their end (R10).
CREATE TABLE IF NOT EXISTS rp_coverage_spans (
    organization_id TEXT NOT NULL, entity_id TEXT NOT NULL, covered_from TIMESTAMPTZ NOT NULL, mode TEXT NOT NULL,
    formed_event_id TEXT NOT NULL, covered_until TIMESTAMPTZ, ended_event_id TEXT,
    PRIMARY KEY (organization_id, entity_id, covered_from));
CREATE INDEX IF NOT EXISTS rp_coverage_spans_entity_idx ON rp_coverage_spans (entity_id);
-- Entities a membership event named (its count is authoritative from then on, 0 included), and entities
-- an OrganizationFormed named (formation's record supersedes the survey's declared organization).
CREATE TABLE IF NOT EXISTS rp_member_entities (entity_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS rp_formation_entities (entity_id TEXT PRIMARY KEY);
-- 工商联's lists of member enterprises: the latest submission of each (department:territory) and its members.
CREATE TABLE IF NOT EXISTS rp_federation_lists (list_key TEXT PRIMARY KEY, submission INTEGER NOT NULL,
                                                member_ids TEXT[] NOT NULL);
CREATE TABLE IF NOT EXISTS rp_work (entity_id TEXT PRIMARY KEY, sources TEXT[] NOT NULL);
CREATE TABLE IF NOT EXISTS rp_tasks (entity_id TEXT PRIMARY KEY, state TEXT NOT NULL);
-- 一企一策 / 一社一策 plans (plan streams): what the to-do list of plans past their target date needs.
CREATE TABLE IF NOT EXISTS rp_plans (entity_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, label TEXT NOT NULL,
                                     target_date DATE NOT NULL, responsible_role TEXT NOT NULL, last_noted_on DATE);
-- R10b setup milestones (formation's zone and milestone streams): the gathering zones declared, the milestones
-- recorded; the checklist judges them on the day asked (reporting.domain.milestones).
CREATE TABLE IF NOT EXISTS rp_gathering_zones (zone_id TEXT PRIMARY KEY, district_code TEXT NOT NULL, street_code TEXT,
                                               name TEXT NOT NULL, zone_kind TEXT NOT NULL, declared_on DATE NOT NULL);
CREATE TABLE IF NOT EXISTS rp_setup_milestones (
    stream_id TEXT PRIMARY KEY, milestone TEXT NOT NULL, district_code TEXT NOT NULL, zone_id TEXT, done_on DATE NOT NULL,
    document_number TEXT, document_title TEXT, document_sha256 TEXT, committee_kind TEXT, recorded_on DATE NOT NULL,
    event_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rp_failed_checks (
    check_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, check_kind TEXT NOT NULL, checked_on DATE NOT NULL,
    entity_ids TEXT[] NOT NULL, findings TEXT[] NOT NULL, event_id TEXT NOT NULL);
-- Derived: one row per registered entity (reporting.domain.status.derive_status).
CREATE TABLE IF NOT EXISTS rp_entity_status (
    entity_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, subtype TEXT NOT NULL,
    district_code TEXT NOT NULL, street_code TEXT NOT NULL, department TEXT NOT NULL,
    in_baseline BOOLEAN NOT NULL, flags TEXT[] NOT NULL, employees INTEGER NOT NULL,
    formal_members INTEGER NOT NULL, probationary_members INTEGER NOT NULL,
    organizations JSONB NOT NULL, organization_covered BOOLEAN NOT NULL, standalone_covered BOOLEAN NOT NULL,
    work_covered BOOLEAN NOT NULL, two_covered BOOLEAN NOT NULL, required_reason TEXT,
    member_required_reason TEXT, member_requirement_met BOOLEAN NOT NULL, r3_violation BOOLEAN NOT NULL,
    task_state TEXT NOT NULL, declared_organization TEXT, overdue_after_formation BOOLEAN NOT NULL,
    overdue_after_acceptance BOOLEAN NOT NULL, federation_member BOOLEAN NOT NULL,
    -- segments: every R2 reason (required_reason shows the first), the industry, above scale (规上)
    required_reasons TEXT[] NOT NULL, industry TEXT, above_scale BOOLEAN NOT NULL);
CREATE INDEX IF NOT EXISTS rp_entity_status_district_idx ON rp_entity_status (district_code) WHERE in_baseline;
-- Reporting's own events (reports, bulletins, accountability), projected for the read API.
CREATE TABLE IF NOT EXISTS rp_reports (
    report_id TEXT PRIMARY KEY, unit TEXT NOT NULL, deadline DATE NOT NULL, submitted_at TIMESTAMPTZ NOT NULL,
    figures JSONB NOT NULL, event_id TEXT NOT NULL, actor TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rp_reports_deadline_idx ON rp_reports (deadline, unit);
CREATE TABLE IF NOT EXISTS rp_bulletins (
    bulletin_id TEXT PRIMARY KEY, cutoff_date DATE NOT NULL, published_at TIMESTAMPTZ NOT NULL,
    figures_sha256 TEXT NOT NULL, checkpoint_tree_size BIGINT NOT NULL, event_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rp_accountability (
    entry_id TEXT PRIMARY KEY, unit TEXT NOT NULL, entry_kind TEXT NOT NULL, subject TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL, payload JSONB NOT NULL, event_id TEXT NOT NULL);
-- How many events (recorded at or before the replay's cutoff) the projection applied.
-- projection_version: the shape these tables were built with (projection_store.PROJECTION_VERSION); tables
-- of another version are dropped and rebuilt from the topics. latest_recorded_at: the newest business time
-- applied (the campaign's business date on a simulated clock).
CREATE TABLE IF NOT EXISTS rp_meta (id INTEGER PRIMARY KEY CHECK (id = 1), events_applied BIGINT NOT NULL,
                                   replayed_until TIMESTAMPTZ, replay_finished_at TIMESTAMPTZ,
                                   projection_version INTEGER NOT NULL, latest_recorded_at TIMESTAMPTZ);
-- First submission of each ledger (R10: the survey deadline, 台帐 by 8-26).
CREATE TABLE IF NOT EXISTS rp_ledger_submissions (
    unit TEXT PRIMARY KEY, district_code TEXT, unit_kind TEXT NOT NULL, first_submitted_at TIMESTAMPTZ NOT NULL,
    event_id TEXT NOT NULL);
-- Related city departments' responsibility reports (R11: end of November).
CREATE TABLE IF NOT EXISTS rp_responsibility_reports (
    report_id TEXT PRIMARY KEY, department TEXT NOT NULL, due DATE NOT NULL, submitted_at TIMESTAMPTZ NOT NULL,
    event_id TEXT NOT NULL, actor TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rp_responsibility_reports_idx ON rp_responsibility_reports (department, due);
