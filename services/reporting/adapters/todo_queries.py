"""Reads for the to-do lists: every registered entity's derived status with the ledger that approved it and its
plan (rp_entity_status, rp_approvals, rp_plans), for a district or a street."""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.adapters.projection_store import STATUS_COLUMNS
from reporting.domain.fold import PlanState
from reporting.domain.status import EntityStatus
from reporting.domain.todo import TodoEntity


def todo_entities(conn: Connection, schema: str, district: str | None, street: str | None) -> list[TodoEntity]:
    s = quoted_schema(schema)
    clauses, params = ["TRUE"], {}
    if district:
        clauses.append("s.district_code = :district")
        params["district"] = district
    if street:
        clauses.append("s.street_code = :street")
        params["street"] = street
    rows = conn.execute(sa.text(
        f"SELECT s.*, a.unit AS approved_unit, p.plan_id, p.label AS plan_label, p.target_date AS plan_target_date,"
        f" p.responsible_role, p.last_noted_on FROM {s}.rp_entity_status s"
        f" LEFT JOIN {s}.rp_approvals a ON a.entity_id = s.entity_id LEFT JOIN {s}.rp_plans p ON p.entity_id = s.entity_id"
        f" WHERE {' AND '.join(clauses)}"), params).mappings()
    return [_entity(row) for row in rows]


def _entity(row) -> TodoEntity:
    values = {c: row[c] for c in STATUS_COLUMNS}
    values["flags"] = tuple(row["flags"])
    values["organizations"] = tuple(tuple(o) for o in row["organizations"])
    plan = None
    if row["plan_id"] is not None:
        plan = PlanState(row["plan_id"], row["plan_label"], row["plan_target_date"].isoformat(), row["responsible_role"],
                         row["last_noted_on"].isoformat() if row["last_noted_on"] else None)
    return TodoEntity(EntityStatus(**values), row["approved_unit"], plan)
