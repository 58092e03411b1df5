"""PostgreSQL side of the projections: create/drop the tables, load the part of the fold's
state a batch needs, write back what changed, and store the derived entity statuses.

All multi-row: one statement per table per batch (replay speed, issue 9).
"""

import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from pydantic_core import to_json
from psycopg2.extras import execute_values
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from platform_core.projection_consumer import forget_progress
from reporting.domain.fold import CampaignState, CoverageSpan, FailedCheck, Member, PlanState
from reporting.domain.status import EntityStatus, derive_status

TABLES_SQL = Path(__file__).with_name("projection_tables.sql")
PROJECTION_TABLES = ("rp_entities", "rp_approvals", "rp_flags", "rp_members", "rp_coverage", "rp_work",
                     "rp_tasks", "rp_failed_checks", "rp_entity_status", "rp_reports", "rp_bulletins",
                     "rp_accountability", "rp_meta", "rp_ledger_submissions", "rp_coverage_spans",
                     "rp_responsibility_reports", "rp_member_entities", "rp_formation_entities",
                     "rp_federation_lists", "rp_plans", "rp_gathering_zones", "rp_setup_milestones")
PROJECTION_GROUP = "reporting-projections"
# The shape of the tables and of what derive_status puts in them. Raise it whenever either changes:
# tables of an older version are dropped with their offsets, so the projection rebuilds from the topics.
# 2: membership-authoritative counts, survey-declared organizations, R2/R3/R9 of docs/rules.md.
# 3: 工商联's member enterprises (rp_federation_lists, rp_entity_status.federation_member).
# 4: 一企一策 / 一社一策 plans (rp_plans).
# 5: segments (rp_entity_status.required_reasons, industry, above_scale).
#    (a store at 4 is one or the other of the two: either way rebuilt)
# 6: setup milestones (rp_gathering_zones, rp_setup_milestones).
# 7: relay repeats told by stream version (stream_versions), no longer by event id (processed_events):
#    a store at 5 or 6 has no stream versions to guard it, so it is rebuilt, which writes them.
PROJECTION_VERSION = 7


def create_tables(conn: Connection, schema: str, group_id: str = PROJECTION_GROUP) -> None:
    # the app and the processor may both do this on a fresh database: IF NOT EXISTS alone races
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"projection-tables:{schema}"})
    conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted_schema(schema)}"))
    if stored_version(conn, schema) not in (None, PROJECTION_VERSION):
        drop_tables(conn, schema, group_id)
    conn.execute(sa.text(f"SET LOCAL search_path TO {quoted_schema(schema)}"))
    conn.exec_driver_sql(TABLES_SQL.read_text(encoding="utf-8"))
    conn.execute(sa.text("INSERT INTO rp_meta (id, events_applied, projection_version) VALUES (1, 0, :v)"
                         " ON CONFLICT DO NOTHING"), {"v": PROJECTION_VERSION})
    conn.execute(sa.text("SET LOCAL search_path TO DEFAULT"))


def stored_version(conn: Connection, schema: str) -> int | None:
    """The version the schema's projection tables were built with; None when there are none; 1 for tables
    from before versions were kept."""
    exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{quoted_schema(schema)}.rp_meta"}).scalar()
    if exists is None:
        return None
    has_column = conn.execute(sa.text(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = :s AND table_name = 'rp_meta'"
        " AND column_name = 'projection_version'"), {"s": schema}).first()
    if has_column is None:
        return 1
    return conn.execute(sa.text(f"SELECT projection_version FROM {quoted_schema(schema)}.rp_meta")).scalar()


def drop_tables(conn: Connection, schema: str, group_id: str = PROJECTION_GROUP) -> None:
    """Drop the projection and forget its offsets and stream versions (a replay starts from zero)."""
    s = quoted_schema(schema)
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {', '.join(f'{s}.{t}' for t in PROJECTION_TABLES)}"))
    forget_progress(conn, schema, group_id)


class ProjectionStore:
    def __init__(self, schema: str):
        self.tables = quoted_schema(schema)  # the schema, quoted: tables are {tables}.rp_...

    # loading the part of the state a batch needs
    def load(self, conn: Connection, entities: set[str], members: set[str], organizations: set[str],
             federation_lists: set[str] = frozenset()) -> CampaignState:
        """What a batch's events change, and everything the statuses of the entities they can reach rest on
        (``CampaignState.inputs_of``), so the statuses are derived from this state and never read back.

        First what the batch names beyond entities: its members, its organizations (coverage and spans),
        its 工商联 lists. Then every entity named or reached through those: its own rows, every member
        counted at it, every organization covering it, every list naming it."""
        state = CampaignState()
        s = self.tables
        if members:
            self._load_members(conn, state, "member_id", list(members))
        if organizations:
            for row in conn.execute(sa.text(f"SELECT organization_id, entity_id, mode FROM {s}.rp_coverage"
                                            " WHERE organization_id = ANY(:ids)"), {"ids": list(organizations)}):
                state.coverage.setdefault(row.organization_id, {})[row.entity_id] = row.mode
            for row in conn.execute(sa.text(
                    f"SELECT organization_id, entity_id, mode, covered_from, formed_event_id, covered_until,"
                    f" ended_event_id FROM {s}.rp_coverage_spans WHERE organization_id = ANY(:ids)"
                    " ORDER BY covered_from"), {"ids": list(organizations)}):
                state.spans.setdefault(row.organization_id, {}).setdefault(row.entity_id, []).append(CoverageSpan(
                    row.mode, row.covered_from, row.formed_event_id, row.covered_until, row.ended_event_id))
        if federation_lists:
            self._load_lists(conn, state, "list_key = ANY(:ids)", list(federation_lists))
        reached = set(entities).union(
            (member.entity_id for member in state.members.values()),
            (entity for covered in state.coverage.values() for entity in covered),
            *(listed for _, listed in state.federation_lists.values()))
        ids = list(reached)
        for row in conn.execute(sa.text(f"SELECT entity_id, facts FROM {s}.rp_entities WHERE entity_id = ANY(:ids)"),
                                {"ids": ids}):
            state.facts[row.entity_id] = dict(row.facts)
        for row in conn.execute(sa.text(f"SELECT entity_id, unit FROM {s}.rp_approvals WHERE entity_id = ANY(:ids)"),
                                {"ids": ids}):
            state.approved[row.entity_id] = row.unit
        for row in conn.execute(sa.text(f"SELECT entity_id, flags FROM {s}.rp_flags WHERE entity_id = ANY(:ids)"),
                                {"ids": ids}):
            state.flags[row.entity_id] = set(row.flags)
        for row in conn.execute(sa.text(f"SELECT entity_id, sources FROM {s}.rp_work WHERE entity_id = ANY(:ids)"),
                                {"ids": ids}):
            state.work[row.entity_id] = set(row.sources)
        for row in conn.execute(sa.text(f"SELECT entity_id, state FROM {s}.rp_tasks WHERE entity_id = ANY(:ids)"),
                                {"ids": ids}):
            state.tasks[row.entity_id] = row.state
        for row in conn.execute(sa.text(f"SELECT entity_id, plan_id, label, target_date, responsible_role,"
                                        f" last_noted_on FROM {s}.rp_plans WHERE entity_id = ANY(:ids)"), {"ids": ids}):
            state.plans[row.entity_id] = PlanState(row.plan_id, row.label, row.target_date.isoformat(),
                                                   row.responsible_role,
                                                   row.last_noted_on.isoformat() if row.last_noted_on else None)
        state.member_named.update(row[0] for row in conn.execute(sa.text(
            f"SELECT entity_id FROM {s}.rp_member_entities WHERE entity_id = ANY(:ids)"), {"ids": ids}))
        state.formation_named.update(row[0] for row in conn.execute(sa.text(
            f"SELECT entity_id FROM {s}.rp_formation_entities WHERE entity_id = ANY(:ids)"), {"ids": ids}))
        self._load_members(conn, state, "entity_id", ids)
        # the other organizations covering them: only these entities' rows, which the batch does not change
        for row in conn.execute(sa.text(f"SELECT organization_id, entity_id, mode FROM {s}.rp_coverage"
                                        " WHERE entity_id = ANY(:ids) AND NOT organization_id = ANY(:loaded)"),
                                {"ids": ids, "loaded": list(organizations)}):
            state.coverage.setdefault(row.organization_id, {})[row.entity_id] = row.mode
        self._load_lists(conn, state, "member_ids && CAST(:ids AS text[])", ids)
        return state

    def _load_members(self, conn: Connection, state: CampaignState, key: str, ids: list[str]) -> None:
        for row in conn.execute(sa.text(f"SELECT member_id, entity_id, standing, active FROM {self.tables}.rp_members"
                                        f" WHERE {key} = ANY(:ids)"), {"ids": ids}):
            state.members.setdefault(row.member_id, Member(row.entity_id, row.standing, row.active))

    def _load_lists(self, conn: Connection, state: CampaignState, condition: str, ids: list[str]) -> None:
        for row in conn.execute(sa.text(f"SELECT list_key, submission, member_ids"
                                        f" FROM {self.tables}.rp_federation_lists WHERE {condition}"), {"ids": ids}):
            state.federation_lists.setdefault(row.list_key, (row.submission, frozenset(row.member_ids)))

    def note_applied(self, conn: Connection, count: int, latest_recorded_at) -> None:
        """Count a batch's events and keep the newest business time seen."""
        conn.execute(sa.text(f"UPDATE {self.tables}.rp_meta SET events_applied = events_applied + :n,"
                             " latest_recorded_at = GREATEST(latest_recorded_at, :latest)"),
                     {"n": count, "latest": latest_recorded_at})

    # writing back what changed
    def save(self, conn: Connection, state: CampaignState) -> None:
        s, dirty = self.tables, state.dirty
        self._upsert(conn, "rp_entities", ("entity_id", "facts"),
                     [{"entity_id": e, "facts": json.dumps(state.facts[e], sort_keys=True, ensure_ascii=False)}
                      for e in dirty["facts"]],
                     casts={"facts": "jsonb"})
        self._upsert(conn, "rp_approvals", ("entity_id", "unit"),
                     [{"entity_id": e, "unit": state.approved[e]} for e in dirty["approved"]])
        self._upsert(conn, "rp_flags", ("entity_id", "flags"),
                     [{"entity_id": e, "flags": sorted(state.flags[e])} for e in dirty["flags"]])
        self._upsert(conn, "rp_work", ("entity_id", "sources"),
                     [{"entity_id": e, "sources": sorted(state.work[e])} for e in dirty["work"]])
        self._upsert(conn, "rp_tasks", ("entity_id", "state"),
                     [{"entity_id": e, "state": state.tasks[e]} for e in dirty["tasks"]])
        self._upsert(conn, "rp_plans", PLAN_COLUMNS, [plan_row(e, state.plans[e]) for e in dirty["plans"]])
        for table, key in (("rp_member_entities", "member_named"), ("rp_formation_entities", "formation_named")):
            insert_values(conn, f"INSERT INTO {s}.{table} (entity_id) VALUES %s ON CONFLICT DO NOTHING",
                          [(e,) for e in dirty[key]])
        self._upsert(conn, "rp_federation_lists", ("list_key", "submission", "member_ids"),
                     [{"list_key": k, "submission": state.federation_lists[k][0],
                       "member_ids": sorted(state.federation_lists[k][1])} for k in dirty["federation_lists"]])
        self._upsert(conn, "rp_members", ("member_id", "entity_id", "standing", "active"),
                     [{"member_id": m, "entity_id": state.members[m].entity_id,
                       "standing": state.members[m].standing, "active": state.members[m].active}
                      for m in dirty["members"]])
        if dirty["coverage"]:
            conn.execute(sa.text(f"DELETE FROM {s}.rp_coverage WHERE organization_id = ANY(:ids)"),
                         {"ids": list(dirty["coverage"])})
            rows = [(o, e, m) for o in dirty["coverage"] for e, m in state.coverage.get(o, {}).items()]
            insert_values(conn, f"INSERT INTO {s}.rp_coverage (organization_id, entity_id, mode) VALUES %s", rows)
            conn.execute(sa.text(f"DELETE FROM {s}.rp_coverage_spans WHERE organization_id = ANY(:ids)"),
                         {"ids": list(dirty["coverage"])})
            insert_values(conn, f"INSERT INTO {s}.rp_coverage_spans ({', '.join(SPAN_COLUMNS)}) VALUES %s",
                          span_rows(state, dirty["coverage"]))
        checks = {c.check_id: c for c in state.failed_checks if c.check_id in dirty["failed_checks"]}
        insert_values(conn, f"INSERT INTO {s}.rp_failed_checks (check_id, organization_id, check_kind, checked_on,"
                            " entity_ids, findings, event_id) VALUES %s ON CONFLICT (check_id) DO NOTHING",
                      [_failed_check_row(c) for c in checks.values()])

    def _upsert(self, conn: Connection, table: str, columns: tuple[str, ...], rows: list[dict],
                casts: dict[str, str] | None = None) -> None:
        if not rows:
            return
        casts = casts or {}
        template = "(" + ", ".join(f"%({c})s::{casts[c]}" if c in casts else f"%({c})s" for c in columns) + ")"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
        insert_values(conn, f"INSERT INTO {self.tables}.{table} ({', '.join(columns)}) VALUES %s"
                            f" ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}", rows, template)

    def write_touched_statuses(self, conn: Connection, state: CampaignState) -> None:
        """The touched entities' statuses, derived from the batch's state (``load`` brought in all they rest on)."""
        self.write_statuses(conn, [derive_status(entity, inputs)
                                   for entity, inputs in state.inputs_of(state.touched).items()])

    def write_statuses(self, conn: Connection, statuses: list[EntityStatus]) -> None:
        if not statuses:
            return
        columns = STATUS_COLUMNS
        template = "(" + ", ".join(f"%({c})s::jsonb" if c == "organizations" else f"%({c})s" for c in columns) + ")"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
        insert_values(conn, f"INSERT INTO {self.tables}.rp_entity_status ({', '.join(columns)}) VALUES %s"
                            f" ON CONFLICT (entity_id) DO UPDATE SET {updates}",
                      [status_row(status) for status in statuses], template)



STATUS_COLUMNS = ("entity_id", "name", "kind", "subtype", "district_code", "street_code", "department",
                  "in_baseline", "flags", "employees", "formal_members", "probationary_members", "organizations",
                  "organization_covered", "standalone_covered", "work_covered", "two_covered", "required_reason",
                  "member_required_reason", "member_requirement_met", "r3_violation", "task_state",
                  "declared_organization", "overdue_after_formation", "overdue_after_acceptance",
                  "federation_member", "required_reasons", "industry", "above_scale")


def status_row(status: EntityStatus) -> dict:
    row = {c: getattr(status, c) for c in STATUS_COLUMNS}
    row["flags"] = list(status.flags)
    row["required_reasons"] = list(status.required_reasons)
    row["organizations"] = to_json([list(o) for o in status.organizations]).decode()  # JSONB column
    return row


def status_values(status: EntityStatus) -> tuple:
    """A status as a row of STATUS_COLUMNS' values (the COPY of a replay)."""
    row = status_row(status)
    return tuple(row[c] for c in STATUS_COLUMNS)


PLAN_COLUMNS = ("entity_id", "plan_id", "label", "target_date", "responsible_role", "last_noted_on")


def plan_row(entity_id: str, plan: PlanState) -> dict:
    return {"entity_id": entity_id, "plan_id": plan.plan_id, "label": plan.label, "target_date": plan.target_date,
            "responsible_role": plan.responsible_role, "last_noted_on": plan.last_noted_on}


SPAN_COLUMNS = ("organization_id", "entity_id", "covered_from", "mode", "formed_event_id", "covered_until",
                "ended_event_id")


def span_rows(state: CampaignState, organizations: Iterable[str]) -> list[tuple]:
    return [(o, e, span.covered_from, span.mode, span.formed_event_id, span.covered_until, span.ended_event_id)
            for o in organizations for e, spans in state.spans.get(o, {}).items() for span in spans]


def _failed_check_row(check: FailedCheck) -> tuple:
    return (check.check_id, check.organization_id, check.check_kind, check.checked_on, list(check.entity_ids),
            list(check.findings), check.event_id)


def insert_values(conn: Connection, sql: str, rows: list, template: str | None = None) -> None:
    """One multi-row statement per 5,000 rows (psycopg2's execute_values), inside the caller's transaction.
    Rows must not repeat a conflict key (ON CONFLICT DO UPDATE may touch a row once per statement)."""
    if not rows:
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        execute_values(cursor, sql, rows, template=template, page_size=5000)
    finally:
        cursor.close()
