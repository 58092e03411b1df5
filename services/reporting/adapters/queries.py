"""Reads of the projection tables: counters per level (R7), entities behind a figure, reports."""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.domain.rates import COUNTER_NAMES, Counters

# One SUM per counter over the baseline (the same definitions as reporting.domain.rates.count).
COUNTER_SQL = {
    "baseline": "count(*)",
    "organization_covered": "count(*) FILTER (WHERE organization_covered)",
    "standalone_covered": "count(*) FILTER (WHERE standalone_covered)",
    "work_covered": "count(*) FILTER (WHERE work_covered)",
    "two_covered": "count(*) FILTER (WHERE two_covered)",
    "required": "count(*) FILTER (WHERE required_reason IS NOT NULL)",
    "required_covered": "count(*) FILTER (WHERE required_reason IS NOT NULL AND organization_covered)",
    "member_required": "count(*) FILTER (WHERE member_required_reason IS NOT NULL)",
    "member_required_met": "count(*) FILTER (WHERE member_required_reason IS NOT NULL AND member_requirement_met)",
    "r3_violations": "count(*) FILTER (WHERE r3_violation)",
    "tasks_closed": "count(*) FILTER (WHERE task_state = 'closed')",
    "formal_members": "coalesce(sum(formal_members), 0)",
    "probationary_members": "coalesce(sum(probationary_members), 0)",
    "federation_members": "count(*) FILTER (WHERE federation_member)",
    "federation_members_covered": "count(*) FILTER (WHERE federation_member AND organization_covered)",
}
assert tuple(COUNTER_SQL) == COUNTER_NAMES
DIMENSION_SQL = {"city": "'city'", "district": "district_code", "street": "street_code", "kind": "kind",
                 "department": "department"}


def projection_version(conn: Connection, schema: str) -> str:
    """Changes whenever the projection does: the row version of rp_meta, which every projection batch
    updates in its own transaction and every rebuild writes anew, with the count of events applied."""
    return conn.execute(sa.text(
        f"SELECT xmin::text || ':' || events_applied FROM {quoted_schema(schema)}.rp_meta")).scalar_one()


def latest_recorded_at(conn: Connection, schema: str):
    """The newest business time the projection has applied (None before any event)."""
    return conn.execute(sa.text(f"SELECT latest_recorded_at FROM {quoted_schema(schema)}.rp_meta")).scalar()


def counters_by(conn: Connection, schema: str, dimension: str, where: str = "",
                params: dict | None = None) -> dict[str, Counters]:
    if dimension not in DIMENSION_SQL:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSION_SQL)}")
    key = DIMENSION_SQL[dimension]
    sums = ", ".join(f"{sql} AS {name}" for name, sql in COUNTER_SQL.items())
    rows = conn.execute(sa.text(
        f"SELECT {key} AS key, {sums} FROM {quoted_schema(schema)}.rp_entity_status"
        f" WHERE in_baseline {('AND ' + where) if where else ''} GROUP BY 1 ORDER BY 1"), params or {})
    return {row.key: Counters(**{name: int(getattr(row, name)) for name in COUNTER_NAMES}) for row in rows}


def entity_status(conn: Connection, schema: str, entity_id: str):
    return conn.execute(sa.text(f"SELECT * FROM {quoted_schema(schema)}.rp_entity_status WHERE entity_id = :e"),
                        {"e": entity_id}).mappings().first()


def entities(conn: Connection, schema: str, condition: str, unit_condition: str = "", params: dict | None = None,
             limit: int = 1000) -> list[dict]:
    """Baseline entities matching a condition (the entities behind a figure)."""
    where = f"in_baseline AND {condition}" + (f" AND {unit_condition}" if unit_condition else "")
    rows = conn.execute(sa.text(
        f"SELECT entity_id, name, district_code, department, formal_members, organizations, task_state"
        f" FROM {quoted_schema(schema)}.rp_entity_status WHERE {where} ORDER BY entity_id LIMIT :limit"),
        {**(params or {}), "limit": limit}).mappings()
    return [dict(row) for row in rows]


def reports_due(conn: Connection, schema: str, deadlines: Sequence) -> list[dict]:
    rows = conn.execute(sa.text(
        f"SELECT report_id, unit, deadline, submitted_at, figures, event_id, actor FROM {quoted_schema(schema)}.rp_reports"
        " WHERE deadline = ANY(:d) ORDER BY deadline, unit, submitted_at"), {"d": list(deadlines)}).mappings()
    return [dict(row) for row in rows]


def failed_checks(conn: Connection, schema: str) -> list[dict]:
    rows = conn.execute(sa.text(
        f"SELECT c.*, (SELECT min(s.department) FROM {quoted_schema(schema)}.rp_entity_status s"
        f" WHERE s.entity_id = ANY(c.entity_ids)) AS unit FROM {quoted_schema(schema)}.rp_failed_checks c"
        " ORDER BY checked_on, check_id")).mappings()
    return [dict(row) for row in rows]


def first_reports(conn: Connection, schema: str, deadline) -> dict[str, sa.Row]:
    """Each unit's first report for a deadline (the one that counts, R11): unit -> its row."""
    return {row.unit: row for row in conn.execute(sa.text(
        f"SELECT DISTINCT ON (unit) unit, report_id, submitted_at, figures, event_id"
        f" FROM {quoted_schema(schema)}.rp_reports WHERE deadline = :d ORDER BY unit, submitted_at"),
        {"d": deadline})}


def first_reports_of(conn: Connection, schema: str, unit: str) -> dict:
    """A unit's first report for each deadline: deadline -> its row."""
    return {row.deadline: row for row in conn.execute(sa.text(
        f"SELECT DISTINCT ON (deadline) deadline, unit, submitted_at, event_id FROM {quoted_schema(schema)}.rp_reports"
        " WHERE unit = :u ORDER BY deadline, submitted_at"), {"u": unit})}


def first_responsibility_reports(conn: Connection, schema: str, due) -> dict[str, sa.Row]:
    """Each related department's first responsibility report for the due date: department -> its row."""
    return {row.department: row for row in conn.execute(sa.text(
        f"SELECT DISTINCT ON (department) department, report_id, submitted_at, event_id"
        f" FROM {quoted_schema(schema)}.rp_responsibility_reports WHERE due = :d"
        " ORDER BY department, submitted_at"), {"d": due})}
