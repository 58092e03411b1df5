"""Reads of formation's tables: entity facts with effective member counts, coverage, tasks, the board."""

import functools
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.model import Coverage, EntityFacts, Organization, TaskStatus
from ..domain.plans import Plan, PlanContent
from ..domain.work_coverage import Assignment
from .tables import Tables


def _facts_sql(s: str, where: str, also: str = "", joins: str = "") -> sa.TextClause:
    """Entity facts with effective member counts from schema ``s`` (``also``/``joins``: more columns)."""
    return sa.text(f"""
        SELECT e.*, (c.entity_id IS NOT NULL) AS counted, coalesce(m.formal, 0) AS formal,
               coalesce(m.probationary, 0) AS probationary,
               EXISTS (SELECT 1 FROM {s}.coverage o WHERE o.entity_id = e.entity_id) AS organization_recorded{also}
        FROM {s}.known_entities e {joins}
        LEFT JOIN {s}.member_counted_entities c ON c.entity_id = e.entity_id
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE standing = 'formal') AS formal,
                   count(*) FILTER (WHERE standing = 'probationary') AS probationary
            FROM {s}.member_positions p WHERE p.entity_id = e.entity_id AND p.active) m ON TRUE
        WHERE {where} ORDER BY e.entity_id""")


@functools.lru_cache(maxsize=16)
def _facts_by_ids(schema: str) -> sa.TextClause:
    """Every command's look-up, built once per schema (a text() clause per call cost more than its parse)."""
    return _facts_sql(schema, "e.entity_id = ANY(:ids)")


def _facts(row) -> EntityFacts:
    return EntityFacts(
        entity_id=row.entity_id, kind=row.kind, subtype=row.subtype, level=row.level,
        supervising_department=row.supervising_department, district_code=row.district_code,
        street_code=row.street_code, industry=row.industry,
        formal_members=row.formal if row.counted else row.declared_formal,
        member_source="membership" if row.counted else "survey",
        in_baseline=bool(row.approved) and not row.flags, name=row.name, employees=row.employees,
        above_scale=row.above_scale, declared_organization=row.declared_organization,
        organization_recorded=row.organization_recorded, public_sector_staffed=row.public_sector_staffed)


def member_counts(conn: Connection, t: Tables, entity_id: str) -> dict | None:
    row = conn.execute(_facts_sql(t.entities.schema, "e.entity_id = :id"), {"id": entity_id}).first()
    if row is None:
        counted = conn.execute(sa.select(t.counted.c.entity_id).where(t.counted.c.entity_id == entity_id)).first()
        if counted is None:
            return None
        members = conn.execute(sa.text(
            f"SELECT count(*) FILTER (WHERE standing='formal') AS f, count(*) FILTER (WHERE standing='probationary')"
            f" AS p FROM {t.members.schema}.member_positions WHERE entity_id = :id AND active"), {"id": entity_id}).one()
        return {"entity_id": entity_id, "formal": members.f, "probationary": members.p, "source": "membership",
                "declared_formal": None, "registered": False}
    facts = _facts(row)
    return {"entity_id": entity_id, "formal": facts.formal_members,
            "probationary": row.probationary if row.counted else row.declared_probationary,
            "source": facts.member_source, "declared_formal": row.declared_formal, "registered": True}


def load_facts(conn: Connection, t: Tables, entity_ids: Sequence[str]) -> dict[str, EntityFacts]:
    if not entity_ids:
        return {}
    rows = conn.execute(_facts_by_ids(t.entities.schema), {"ids": list(entity_ids)})
    return {row.entity_id: _facts(row) for row in rows}


def facts_where(conn: Connection, t: Tables, district: str | None = None, street: str | None = None,
                territory_prefix: str | None = None) -> list[EntityFacts]:
    clauses, params = ["TRUE"], {}
    if district:
        clauses.append("e.district_code = :d")
        params["d"] = district
    if street:
        clauses.append("e.street_code = :s")
        params["s"] = street
    if territory_prefix:
        clauses.append("(e.district_code LIKE :p OR e.street_code LIKE :p)")
        params["p"] = territory_prefix + "%"
    return [_facts(row) for row in conn.execute(_facts_sql(t.entities.schema, " AND ".join(clauses)), params)]


def load_coverage(conn: Connection, t: Tables, entity_ids: Sequence[str] | None = None) -> dict[str, Coverage]:
    c = t.coverage
    query = sa.select(c.c.entity_id, c.c.mode, c.c.organization_id).where(c.c.active)
    if entity_ids is not None:
        query = query.where(c.c.entity_id.in_(list(entity_ids)))
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in conn.execute(query.order_by(c.c.entity_id, c.c.organization_id)):
        found[row.entity_id][row.mode].append(row.organization_id)
    return {e: Coverage({m: tuple(ids) for m, ids in modes.items()}) for e, modes in found.items()}


def load_tasks(conn: Connection, t: Tables, entity_ids: Sequence[str], lock: bool = False) -> dict[str, TaskStatus]:
    if not entity_ids:
        return {}
    query = sa.select(t.tasks).where(t.tasks.c.entity_id.in_(list(entity_ids)))
    if lock:
        query = query.with_for_update()
    return {r.entity_id: TaskStatus(r.entity_id, r.state, r.organization_id, r.check_id, r.version, r.reopened)
            for r in conn.execute(query)}


def organization_row(conn: Connection, t: Tables, organization_id: str) -> dict | None:
    row = conn.execute(sa.select(t.organizations).where(t.organizations.c.organization_id == organization_id)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["entity_ids"] = [r[0] for r in conn.execute(
        sa.select(t.coverage.c.entity_id).where(t.coverage.c.organization_id == organization_id,
                                                t.coverage.c.active).order_by(t.coverage.c.entity_id))]
    found["checks"] = [dict(r._mapping) for r in conn.execute(
        sa.select(t.checks).where(t.checks.c.organization_id == organization_id).order_by(t.checks.c.checked_on))]
    return found


def organizations(conn: Connection, t: Tables, district: str | None, mode: str | None, active: bool | None,
                  limit: int, offset: int) -> list[dict]:
    o = t.organizations
    query = sa.select(o).order_by(o.c.formed_on, o.c.organization_id).limit(limit).offset(offset)
    if district:
        query = query.where(o.c.district_code == district)
    if mode:
        query = query.where(o.c.mode == mode)
    if active is not None:
        query = query.where(o.c.dissolved_on.is_(None) if active else o.c.dissolved_on.is_not(None))
    return [dict(r._mapping) for r in conn.execute(query)]


def board(conn: Connection, t: Tables, unit: str | None, district: str | None) -> list[tuple[EntityFacts, dict]]:
    """Baseline entities (their facts) with their persisted task, the organization covering them, and whether
    they are work-covered (R6)."""
    s = t.entities.schema
    clauses, params = ["e.approved", "cardinality(e.flags) = 0"], {}
    if unit:
        clauses.append("e.ledger_unit = :unit")
        params["unit"] = unit
    if district:
        clauses.append("e.district_code = :district")
        params["district"] = district
    also = f""",
               k.state, k.organization_id AS task_organization_id, k.check_id, k.reopened, k.last_reason,
               (SELECT min(v.organization_id) FROM {s}.coverage v WHERE v.entity_id = e.entity_id AND v.active)
                 AS covering,
               EXISTS (SELECT 1 FROM {s}.work_coverage w WHERE w.entity_id = e.entity_id) AS work_covered,
               pl.plan_id, pl.label AS plan_label, pl.target_date AS plan_target_date,
               pl.responsible_role AS plan_responsible_role, r.name AS plan_responsible_name,
               pl.last_note AS plan_last_note, pl.last_noted_on AS plan_last_noted_on"""
    joins = (f"LEFT JOIN {s}.tasks k ON k.entity_id = e.entity_id LEFT JOIN {s}.plans pl ON pl.entity_id = e.entity_id"
             f" LEFT JOIN {s}.plan_responsibles r ON r.responsible_id = pl.responsible_id")
    rows = conn.execute(_facts_sql(s, " AND ".join(clauses), also, joins), params)
    return [(_facts(row), dict(row._mapping)) for row in rows]


def closed_tasks_by_district(conn: Connection, t: Tables, districts: Sequence[str] | None,
                             kinds: Sequence[str]) -> dict[str, list[str]]:
    """The entity ids of closed tasks per district, of the given entity kinds (R12: spot checks' population)."""
    s = t.entities.schema
    where, params = "AND e.kind = ANY(:k)", {"k": list(kinds)}
    if districts:
        where, params = where + " AND e.district_code = ANY(:d)", params | {"d": list(districts)}
    rows = conn.execute(sa.text(f"""
        SELECT e.district_code, k.entity_id FROM {s}.tasks k JOIN {s}.known_entities e USING (entity_id)
        WHERE k.state = 'closed' {where} ORDER BY e.district_code, k.entity_id"""), params)
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        found[row.district_code].append(row.entity_id)
    return dict(found)


def latest_checkpoint(conn: Connection, t: Tables) -> dict | None:
    c = t.checkpoints
    row = conn.execute(sa.select(c).order_by(c.c.recorded_at.desc(), c.c.checkpoint_id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def work_coverage(conn: Connection, t: Tables, entity_id: str) -> list[dict]:
    """Every source of work coverage of the entity (R6), ended ones with their ``until``."""
    w = t.work
    return [dict(r._mapping, active=r.until is None) for r in conn.execute(
        sa.select(w.c.source_id, w.c.kind, w.c.since, w.c.until).where(w.c.entity_id == entity_id)
        .order_by(w.c.since, w.c.source_id))]


def assignment(conn: Connection, t: Tables, assignment_id: str, lock: bool = False) -> Assignment | None:
    query = sa.select(t.assignments).where(t.assignments.c.assignment_id == assignment_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return _assignment(row) if row is not None else None


def _assignment(row) -> Assignment:
    return Assignment(row.assignment_id, row.instructor_id, row.role, row.stream_id, tuple(row.entity_ids),
                      tuple(row.organization_ids), row.assigned_on, row.ended_on)


def roster(conn: Connection, t: Tables, district: str | None, active: bool | None, limit: int,
           offset: int) -> list[dict]:
    """The instructor roster (R6): assignments with the instructor's name, newest first."""
    a, i = t.assignments, t.instructors
    query = (sa.select(a, i.c.name).join(i, i.c.instructor_id == a.c.instructor_id)
             .order_by(a.c.assigned_on.desc(), a.c.assignment_id).limit(limit).offset(offset))
    if district:
        query = query.where(a.c.district_codes.any(district))
    if active is not None:
        query = query.where(a.c.ended_on.is_(None) if active else a.c.ended_on.is_not(None))
    return [dict(r._mapping) for r in conn.execute(query)]


def active_organizations(conn: Connection, t: Tables, district: str | None) -> list[Organization]:
    """Active organizations with the entities they cover now."""
    s = t.entities.schema
    where, params = ("AND o.district_code = :d", {"d": district}) if district else ("", {})
    rows = conn.execute(sa.text(f"""
        SELECT o.*, coalesce(array_agg(c.entity_id ORDER BY c.entity_id) FILTER (WHERE c.entity_id IS NOT NULL),
                             '{{}}') AS entity_ids
        FROM {s}.organizations o LEFT JOIN {s}.coverage c ON c.organization_id = o.organization_id AND c.active
        WHERE o.dissolved_on IS NULL {where} GROUP BY o.organization_id"""), params)
    return [organization_state(dict(r._mapping)) for r in rows]


def active_assignments(conn: Connection, t: Tables) -> list[Assignment]:
    a = t.assignments
    return [_assignment(r) for r in conn.execute(sa.select(a).where(a.c.ended_on.is_(None),
                                                                     sa.func.cardinality(a.c.organization_ids) > 0))]


def samples(conn: Connection, t: Tables, spot_check_id: str) -> list[dict]:
    s = t.samples
    return [dict(r._mapping) for r in conn.execute(
        sa.select(s).where(s.c.spot_check_id == spot_check_id).order_by(s.c.district_code, s.c.rank))]


def organization_state(row: dict) -> Organization:
    return Organization(row["organization_id"], row["name"], row["mode"], row["district_code"], row["street_code"],
                        tuple(row["entity_ids"]), dict(row["affiliation"]), row["formed_on"], row["dissolved_on"],
                        row["version"])



def plan(conn: Connection, t: Tables, entity_id: str, lock: bool = False) -> Plan | None:
    """The entity's plan (R9), locked for a revision or a note when ``lock``."""
    query = sa.select(t.plans).where(t.plans.c.entity_id == entity_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    content = PlanContent(tuple(row.measures), row.target_date, row.responsible_id, row.responsible_role)
    return Plan(row.plan_id, row.entity_id, content, row.revision, row.created_on)


def plans(conn: Connection, t: Tables, *, plan_id: str | None = None, district: str | None = None,
          street: str | None = None, ledger_unit: str | None = None,
          territory_prefix: str | None = None) -> list[tuple[EntityFacts, dict]]:
    """Plans with their entity's facts (coverage: ``covered`` by an active organization) and the responsible
    person's name, ordered by target date."""
    s = t.entities.schema
    clauses, params = ["TRUE"], {}
    for column, value in (("pl.plan_id", plan_id), ("pl.district_code", district), ("pl.street_code", street),
                          ("pl.ledger_unit", ledger_unit)):
        if value:
            clauses.append(f"{column} = :p{len(params)}")
            params[f"p{len(params)}"] = value
    if territory_prefix:
        clauses.append("(pl.district_code LIKE :tp OR pl.street_code LIKE :tp)")
        params["tp"] = territory_prefix + "%"
    also = f""", pl.plan_id, pl.label, pl.measures, pl.target_date, pl.responsible_id, pl.responsible_role,
               pl.revision, pl.created_on, pl.revised_on, pl.last_note, pl.last_noted_on, pl.notes,
               pl.ledger_unit AS plan_ledger_unit, r.name AS responsible_name,
               EXISTS (SELECT 1 FROM {s}.coverage v WHERE v.entity_id = e.entity_id AND v.active) AS covered"""
    joins = (f"JOIN {s}.plans pl ON pl.entity_id = e.entity_id"
             f" LEFT JOIN {s}.plan_responsibles r ON r.responsible_id = pl.responsible_id")
    rows = conn.execute(_facts_sql(s, " AND ".join(clauses), also, joins), params)
    found = [(_facts(row), dict(row._mapping)) for row in rows]
    return sorted(found, key=lambda pair: (pair[1]["target_date"], pair[0].entity_id))


def plan_notes(conn: Connection, t: Tables, plan_id: str) -> list[dict]:
    n = t.plan_notes
    return [dict(r._mapping) for r in conn.execute(
        sa.select(n.c.seq, n.c.note, n.c.noted_on).where(n.c.plan_id == plan_id).order_by(n.c.seq))]
