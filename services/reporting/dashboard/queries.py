"""The dashboard's reads of reporting's own tables (projections, bulletins), never other services."""

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.adapters import queries
from reporting.domain.rates import Counters

TASK_LIMIT = 500
SEARCH_LIMIT = 50


def projections_ready(conn: Connection, schema: str) -> bool:
    """False until the projection processor (or a replay) has created the tables."""
    return conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{schema}.rp_entity_status"}).scalar() is not None


def counters(conn: Connection, schema: str, dimension: str) -> dict[str, Counters]:
    return queries.counters_by(conn, schema, dimension)


def task_counts(conn: Connection, schema: str, department: str, street: str | None = None) -> dict[str, int]:
    rows = conn.execute(sa.text(
        f"SELECT task_state, count(*) AS n FROM {quoted_schema(schema)}.rp_entity_status"
        " WHERE in_baseline AND department = :d AND (CAST(:street AS TEXT) IS NULL OR street_code = :street)"
        " GROUP BY task_state"), {"d": department, "street": street})
    return {row.task_state: int(row.n) for row in rows}


def tasks(conn: Connection, schema: str, department: str, state: str | None = None,
          limit: int = TASK_LIMIT, street: str | None = None) -> list[dict]:
    """The unit's baseline tasks (of one street, if given) with their 一企一策 / 一社一策 plan's label and target date,
    not-closed first (the board orders them; the limit keeps the open ones)."""
    s = quoted_schema(schema)
    rows = conn.execute(sa.text(
        f"SELECT st.entity_id, name, street_code, kind, task_state, organization_covered, work_covered,"
        f" required_reason, formal_members, p.label AS plan_label, p.target_date AS plan_target_date"
        f" FROM {s}.rp_entity_status st LEFT JOIN {s}.rp_plans p ON p.entity_id = st.entity_id"
        " WHERE in_baseline AND department = :d AND (CAST(:s AS TEXT) IS NULL OR task_state = :s)"
        " AND (CAST(:street AS TEXT) IS NULL OR street_code = :street)"
        " ORDER BY task_state = 'closed', NOT organization_covered DESC, name, st.entity_id LIMIT :limit"),
        {"d": department, "s": state, "street": street, "limit": limit}).mappings()
    return [dict(row) for row in rows]


def counters_by_street(conn: Connection, schema: str, department: str) -> dict[str | None, Counters]:
    """The unit's counters per street (street_code; None for entities without one)."""
    return queries.counters_by(conn, schema, "street", "department = :d", {"d": department})


def spans(conn: Connection, schema: str, departments: list[str]) -> list[tuple]:
    """Coverage spans of the current baseline entities of some responsible units."""
    s = quoted_schema(schema)
    rows = conn.execute(sa.text(
        f"SELECT sp.entity_id, sp.covered_from, sp.covered_until FROM {s}.rp_coverage_spans sp"
        f" JOIN {s}.rp_entity_status st ON st.entity_id = sp.entity_id"
        " WHERE st.in_baseline AND st.department = ANY(:d)"), {"d": departments})
    return [tuple(row) for row in rows]


def bulletins(conn: Connection, schema: str) -> list[dict]:
    """Published bulletins, newest first, with the city's figures from each data file."""
    rows = conn.execute(sa.text(
        f"SELECT bulletin_id, cutoff_date, published_at, figures_json, figures_sha256, checkpoint_tree_size,"
        f" event_id, document_number FROM {quoted_schema(schema)}.bulletins ORDER BY cutoff_date DESC")).mappings()
    found = []
    for row in rows:
        data = json.loads(bytes(row["figures_json"]))
        found.append({**{k: v for k, v in row.items() if k != "figures_json"}, "total": data["total"],
                      "districts": {d["unit"]: d for d in data["districts"]}})
    return found


def search_entities(conn: Connection, schema: str, text: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """By entity id, by 统一社会信用代码 (exact), or by a part of the name."""
    s = quoted_schema(schema)
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(sa.text(
        f"SELECT st.entity_id, st.name, st.district_code, st.department, st.in_baseline, st.task_state,"
        f" st.organization_covered, e.facts->>'uscc' AS uscc FROM {s}.rp_entity_status st"
        f" LEFT JOIN {s}.rp_entities e ON e.entity_id = st.entity_id"
        " WHERE st.entity_id = :q OR upper(e.facts->>'uscc') = upper(:q) OR st.name ILIKE :like"
        " ORDER BY st.entity_id = :q DESC, st.name, st.entity_id LIMIT :limit"),
        {"q": text, "like": like, "limit": limit}).mappings()
    return [dict(row) for row in rows]


def entity(conn: Connection, schema: str, entity_id: str) -> dict | None:
    s = quoted_schema(schema)
    row = conn.execute(sa.text(
        f"SELECT st.*, e.facts FROM {s}.rp_entity_status st LEFT JOIN {s}.rp_entities e"
        " ON e.entity_id = st.entity_id WHERE st.entity_id = :e"), {"e": entity_id}).mappings().first()
    return dict(row) if row else None
