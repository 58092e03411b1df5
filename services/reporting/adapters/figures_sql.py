"""The bulletin's figures source on PostgreSQL (an as-of projection schema)."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.adapters import queries
from reporting.domain.rates import Counters

CONDITION_SQL = {"overdue_formation": "overdue_after_formation", "overdue_acceptance": "overdue_after_acceptance",
                 "r3_violation": "r3_violation", "declared_unconfirmed": "declared_organization IS NOT NULL",
                 # the entities behind each reported figure (R11 discrepancies)
                 "baseline": "true", "organization_covered": "organization_covered",
                 "standalone_covered": "standalone_covered", "work_covered": "work_covered",
                 "two_covered": "two_covered", "required": "required_reason IS NOT NULL",
                 "required_covered": "required_reason IS NOT NULL AND organization_covered",
                 "formal_members": "formal_members > 0", "probationary_members": "probationary_members > 0"}


class SqlFigures:
    def __init__(self, conn: Connection, schema: str):
        self.conn, self.schema, self.tables = conn, schema, quoted_schema(schema)

    def counters_by_department(self) -> dict[str, Counters]:
        return queries.counters_by(self.conn, self.schema, "department")

    def reports(self, deadlines: list[date]) -> list[dict]:
        rows = self.conn.execute(sa.text(
            f"SELECT report_id, unit, deadline, submitted_at, figures, event_id FROM {self.tables}.rp_reports"
            ' WHERE deadline = ANY(:d) ORDER BY deadline, unit COLLATE "C", submitted_at, report_id COLLATE "C"'),
            {"d": list(deadlines)}).mappings()
        return [dict(row) for row in rows]

    def entities(self, condition: str, limit: int, departments: list[str] | None = None) -> list[dict]:
        unit = " AND department = ANY(:departments)" if departments is not None else ""
        rows = self.conn.execute(sa.text(
            f"SELECT entity_id, name, department, formal_members, organizations, task_state, organization_covered,"
            f" declared_organization FROM {self.tables}.rp_entity_status"
            f' WHERE in_baseline AND {CONDITION_SQL[condition]}{unit} ORDER BY entity_id COLLATE "C" LIMIT :limit'),
            {"limit": limit, "departments": departments or []}).mappings()
        return [dict(row) for row in rows]

    def failed_checks(self) -> list[dict]:
        rows = self.conn.execute(sa.text(
            f'SELECT c.*, (SELECT min(s.department COLLATE "C") FROM {self.tables}.rp_entity_status s'
            f" WHERE s.entity_id = ANY(c.entity_ids)) AS unit FROM {self.tables}.rp_failed_checks c"
            ' ORDER BY checked_on, check_id COLLATE "C"')).mappings()
        return [dict(row) for row in rows]

    def events_applied(self) -> int:
        return int(self.conn.execute(sa.text(f"SELECT events_applied FROM {self.tables}.rp_meta")).scalar() or 0)
