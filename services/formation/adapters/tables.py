"""Formation's own tables, bound to the service's schema (migrations/0001_formation.sql)."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from platform_core.db import quoted_schema


@dataclass(frozen=True)
class Tables:
    entities: sa.Table
    pending: sa.Table
    members: sa.Table
    counted: sa.Table
    checkpoints: sa.Table
    organizations: sa.Table
    coverage: sa.Table
    tasks: sa.Table
    checks: sa.Table
    work: sa.Table
    instructors: sa.Table
    samples: sa.Table
    assignments: sa.Table
    plans: sa.Table
    plan_notes: sa.Table
    plan_responsibles: sa.Table
    zones: sa.Table
    milestones: sa.Table


def tables(schema: str) -> Tables:
    md = sa.MetaData(schema=quoted_schema(schema))
    T, C = sa.Text, sa.Column
    return Tables(
        entities=sa.Table("known_entities", md, C("entity_id", T, primary_key=True), C("name", T), C("kind", T),
                          C("subtype", T), C("level", T), C("supervising_department", T), C("district_code", T),
                          C("street_code", T), C("industry", T), C("declared_formal", sa.Integer),
                          C("declared_probationary", sa.Integer), C("approved", sa.Boolean), C("ledger_unit", T),
                          C("flags", ARRAY(T)), C("employees", sa.Integer), C("above_scale", sa.Boolean),
                          C("declared_organization", T), C("public_sector_staffed", sa.Boolean)),
        pending=sa.Table("pending_approvals", md, C("entity_id", T, primary_key=True), C("ledger_unit", T)),
        members=sa.Table("member_positions", md, C("member_id", T, primary_key=True), C("entity_id", T),
                         C("standing", T), C("active", sa.Boolean)),
        counted=sa.Table("member_counted_entities", md, C("entity_id", T, primary_key=True)),
        checkpoints=sa.Table("audit_checkpoints", md, C("checkpoint_id", sa.Integer, primary_key=True),
                             C("origin", T, primary_key=True), C("tree_size", sa.BigInteger), C("root_hash", T),
                             C("signed_at", T), C("recorded_at", sa.DateTime(timezone=True))),
        organizations=sa.Table("organizations", md, C("organization_id", T, primary_key=True), C("name", T),
                               C("mode", T), C("level", T), C("district_code", T), C("street_code", T),
                               C("grouping_basis", T), C("grouping_detail", T), C("affiliation", JSONB),
                               C("formed_on", sa.Date), C("dissolved_on", sa.Date), C("restructured_from", T),
                               C("version", sa.Integer)),
        coverage=sa.Table("coverage", md, C("organization_id", T, primary_key=True),
                          C("entity_id", T, primary_key=True), C("mode", T), C("active", sa.Boolean),
                          C("since", sa.Date), C("until", sa.Date)),
        tasks=sa.Table("tasks", md, C("entity_id", T, primary_key=True), C("state", T), C("organization_id", T),
                       C("check_id", T), C("reopened", sa.Integer), C("last_reason", T), C("version", sa.Integer),
                       C("updated_on", sa.Date)),
        checks=sa.Table("checks", md, C("check_id", T, primary_key=True), C("organization_id", T),
                        C("check_kind", T), C("passed", sa.Boolean), C("findings", JSONB), C("checked_on", sa.Date),
                        C("inspector_unit", T), C("spot_check_id", T)),
        work=sa.Table("work_coverage", md, C("source_id", T, primary_key=True), C("entity_id", T, primary_key=True),
                      C("kind", T), C("since", sa.Date), C("until", sa.Date)),
        instructors=sa.Table("instructors", md, C("instructor_id", T, primary_key=True), C("name", T)),
        samples=sa.Table("spot_check_samples", md, C("spot_check_id", T, primary_key=True), C("district_code", T),
                         C("entity_id", T, primary_key=True), C("rank", sa.Integer)),
        assignments=sa.Table("instructor_assignments", md, C("assignment_id", T, primary_key=True),
                             C("instructor_id", T), C("role", T), C("stream_id", T), C("entity_ids", ARRAY(T)),
                             C("organization_ids", ARRAY(T)), C("district_codes", ARRAY(T)),
                             C("assigned_on", sa.Date), C("assigned_by", T), C("ended_on", sa.Date),
                             C("end_reason", T)),
        plans=sa.Table("plans", md, C("plan_id", T, primary_key=True), C("entity_id", T), C("label", T),
                       C("district_code", T), C("street_code", T), C("ledger_unit", T), C("measures", JSONB),
                       C("target_date", sa.Date), C("responsible_id", T), C("responsible_role", T),
                       C("revision", sa.Integer), C("created_on", sa.Date), C("revised_on", sa.Date),
                       C("last_note", T), C("last_noted_on", sa.Date), C("notes", sa.Integer)),
        plan_notes=sa.Table("plan_notes", md, C("plan_id", T, primary_key=True), C("seq", sa.Integer, primary_key=True),
                            C("note", T), C("noted_on", sa.Date)),
        plan_responsibles=sa.Table("plan_responsibles", md, C("responsible_id", T, primary_key=True), C("name", T)),
        zones=sa.Table("gathering_zones", md, C("zone_id", T, primary_key=True), C("district_code", T),
                       C("street_code", T), C("name", T), C("zone_kind", T), C("declared_on", sa.Date)),
        milestones=sa.Table("setup_milestones", md, C("stream_id", T, primary_key=True), C("milestone", T),
                            C("district_code", T), C("zone_id", T), C("done_on", sa.Date), C("document_number", T),
                            C("document_title", T), C("document_sha256", T), C("committee_kind", T),
                            C("recorded_on", sa.Date)),
    )
