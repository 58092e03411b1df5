"""HTTP routes: translate requests to commands and queries, nothing more."""

import uuid
from dataclasses import asdict
from datetime import date

from fastapi import APIRouter, Query, Response

from platform_core.api_types import IsoDate, Offset
from platform_core.errors import NotFound
from platform_core.http import Caller, IdempotencyKey
from platform_core.rules.plans import plan_overdue

from ..adapters import queries
from ..domain import board as board_rules
from ..domain.model import MODE_ZH, STATE_ZH, FormOrganization
from ..domain.review import joint_review
from ..domain.rules import r3_violations
from ..domain.suggestions import suggest
from ..domain.work_coverage import WAY_ZH
from . import schemas
from .deps import EntityId, OrgId, Service, SpotId, command_result


router = APIRouter(tags=["formation"])
reads = APIRouter(tags=["reads"])


# -- commands -------------------------------------------------------------------------------------------
@router.post("/organizations", status_code=201, response_model=schemas.CommandResult)
def form(body: schemas.FormIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """单独组建 / 联合组建 / 功能型: form an organization (R3, R4, R5)."""
    command = FormOrganization(f"organization-{uuid.uuid4()}", body.mode, body.name, tuple(body.entity_ids),
                               body.formed_on, body.level, body.grouping_basis, body.grouping_detail)
    outcome = svc.commands.form(caller, command, key)
    return command_result(outcome, response)


@router.post("/organizations/{organization_id}/restructure", status_code=201, response_model=schemas.CommandResult)
def restructure(organization_id: OrgId, body: schemas.RestructureIn, caller: Caller, key: IdempotencyKey, svc: Service,
                response: Response):
    """调整优化组织设置: split an entity with >= 3 formal members out of a joint organization (R3)."""
    outcome = svc.commands.restructure(caller, organization_id, body.entity_id, body.name, body.reason,
                                       body.restructured_on, key)
    return command_result(outcome, response)


@router.post("/organizations/{organization_id}/dissolve", response_model=schemas.CommandResult)
def dissolve(organization_id: OrgId, body: schemas.DissolveIn, caller: Caller, key: IdempotencyKey, svc: Service,
             response: Response):
    outcome = svc.commands.dissolve(caller, organization_id, body.dissolved_on, body.reason, key)
    return command_result(outcome, response)


@router.post("/organizations/{organization_id}/affiliation", response_model=schemas.CommandResult)
def change_affiliation(organization_id: OrgId, body: schemas.AffiliationIn, caller: Caller, key: IdempotencyKey,
                       svc: Service,
                       response: Response):
    """隶属关系 (R8): change the derived affiliation, with a reason."""
    affiliation = {"kind": body.kind, "unit": body.unit, "name": body.name}
    outcome = svc.commands.change_affiliation(caller, organization_id, affiliation, body.reason, key)
    return command_result(outcome, response)


@router.post("/organizations/{organization_id}/checks", status_code=201, response_model=schemas.CommandResult)
def record_check(organization_id: OrgId, body: schemas.CheckIn, caller: Caller, key: IdempotencyKey, svc: Service,
                 response: Response):
    """检查验收 / 回头看: passing closes the tasks (销号), failing reopens them (R9, R12)."""
    outcome = svc.commands.record_check(caller, organization_id, body.passed, body.findings, body.checked_on,
                                        body.check_kind, key=key)
    return command_result(outcome, response)


@router.post("/tasks/{entity_id}/close", response_model=schemas.CommandResult)
def close_task(entity_id: EntityId, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """Close a task left ``checked`` because its entity entered the baseline after the check (R9)."""
    outcome = svc.commands.close_task(caller, entity_id, key)
    return command_result(outcome, response)


@router.post("/spot-checks", status_code=201, response_model=schemas.CommandResult)
def draw_spot_check(body: schemas.SpotCheckIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """随机抽查: draw N closed tasks per district, reproducibly (docs/formation.md)."""
    outcome = svc.commands.draw_spot_check(caller, body.per_district, body.districts, body.seed, key)
    return command_result(outcome, response)


@router.post("/spot-checks/{spot_check_id}/results", status_code=201, response_model=schemas.CommandResult)
def spot_check_result(spot_check_id: SpotId, body: schemas.SpotCheckResultIn, caller: Caller, key: IdempotencyKey,
                      svc: Service, response: Response):
    """The result of checking a drawn organization; a failure reopens its tasks."""
    outcome = svc.commands.record_check(caller, body.organization_id, body.passed, body.findings, body.checked_on,
                                        "spot_check", spot_check_id, key)
    return command_result(outcome, response)


# -- reads ------------------------------------------------------------------------------------------------
@reads.get("/organizations/{organization_id}")
def organization(organization_id: OrgId, caller: Caller, svc: Service):
    with svc.engine.connect() as conn:
        found = queries.organization_row(conn, svc.tables, organization_id)
    if found is None:
        raise NotFound(f"organization {organization_id} not found", field="organization_id")
    return found | {"mode_zh": MODE_ZH[found["mode"]], "active": found["dissolved_on"] is None}


@reads.get("/organizations")
def organizations(caller: Caller, svc: Service, district: str | None = None,
                  mode: str | None = Query(None, pattern="^(standalone|joint|functional)$"), active: bool | None = None,
                  limit: int = Query(100, ge=1, le=1000), offset: Offset = 0):
    with svc.engine.connect() as conn:
        return queries.organizations(conn, svc.tables, district, mode, active, limit, offset)


@reads.get("/entities/{entity_id}")
def entity(entity_id: EntityId, caller: Caller, svc: Service):
    """Formation's view of an entity: member counts (and their source), coverage, work coverage, task."""
    with svc.engine.connect() as conn:
        counts = queries.member_counts(conn, svc.tables, entity_id)
        if counts is None:
            raise NotFound(f"entity {entity_id} is not known to formation", field="entity_id")
        coverage = queries.load_coverage(conn, svc.tables, [entity_id]).get(entity_id)
        work = queries.work_coverage(conn, svc.tables, entity_id)
        task = queries.load_tasks(conn, svc.tables, [entity_id]).get(entity_id)
        facts = queries.load_facts(conn, svc.tables, [entity_id]).get(entity_id)
    recorded = coverage is not None and coverage.any_organization()
    declared = facts.declared_mode if facts is not None else None  # counts until formation records one (R7)
    covered = recorded or declared is not None
    state = board_rules.effective_state(task.state if task else None, recorded, declared is not None)
    return {**counts, "organizations": coverage.by_mode if coverage else {}, "organization_covered": covered,
            "declared_organization": declared,
            "required_reason": facts.required_reason if facts is not None else None,
            "functional_covered": bool(coverage and coverage.by_mode.get("functional")),
            "work_coverage": [w | {"way_zh": WAY_ZH[w["kind"]]} for w in work],
            "work_covered": not covered and any(w["active"] for w in work),
            "task": {"state": state, "state_zh": STATE_ZH[state], "reopened": task.reopened if task else 0}}


@reads.get("/tasks")
def tasks(caller: Caller, svc: Service, unit: str | None = None, district: str | None = None,
          state: str | None = Query(None, pattern="^(open|declared|organization_formed|checked|closed)$"),
          today: IsoDate | None = Query(None, description="judge deadlines as of this day (YYYY-MM-DD)"),
          limit: int = Query(200, ge=1, le=5000), offset: Offset = 0):
    """挂图作战: baseline entities as tasks, by unit and state, overdue first (R9/R10, docs/rules.md)."""
    on = today or svc.commands.today()
    with svc.engine.connect() as conn:
        rows = queries.board(conn, svc.tables, unit, district)
    found = []
    for facts, row in rows:
        current = board_rules.effective_state(row["state"], row["covering"] is not None, facts.declared_mode is not None)
        if state and current != state:
            continue
        overdue = board_rules.overdue(svc.calendar, current, on, required=facts.required_reason is not None,
                                      work_covered=bool(row["work_covered"]))
        found.append({"entity_id": facts.entity_id, "name": facts.name, "kind": facts.kind,
                      "district_code": facts.district_code, "street_code": facts.street_code,
                      "responsible_unit": row["ledger_unit"], "state": current, "state_zh": STATE_ZH[current],
                      "organization_id": row["covering"] or row["task_organization_id"],
                      "declared_organization": facts.declared_mode, "required_reason": facts.required_reason,
                      "work_covered": current == "open" and bool(row["work_covered"]),
                      "deadline": board_rules.deadline(svc.calendar, current), "overdue": overdue is not None,
                      "overdue_milestone": overdue, "reopened": row["reopened"] or 0,
                      "last_reason": row["last_reason"], "plan": _board_plan(row, on, current, caller.may("read.personal") and caller.covers(
                          facts.street_code or facts.district_code))})
    found.sort(key=lambda r: (not r["overdue"], r["deadline"] or date.max, r["entity_id"]))
    return {"today": on, "total": len(found), "tasks": found[offset:offset + limit]}


def _board_plan(row: dict, on: date, state: str, name_visible: bool) -> dict | None:
    """The entity's 一企一策 / 一社一策 plan on its board row (R9): target date, responsible person (the name only to
    ``read.personal`` in the territory), last progress."""
    if row["plan_id"] is None:
        return None
    return {"plan_id": row["plan_id"], "label": row["plan_label"], "target_date": row["plan_target_date"],
            "responsible_role": row["plan_responsible_role"],
            "responsible_name": row["plan_responsible_name"] if name_visible else None,
            "last_progress": ({"note": row["plan_last_note"], "noted_on": row["plan_last_noted_on"]}
                              if row["plan_last_noted_on"] else None),
            "overdue": plan_overdue(row["plan_target_date"], on, state != "open")}


@reads.get("/violations/r3")
def violations(caller: Caller, svc: Service, district: str | None = None):
    """R3: entities that qualify for their own organization but are covered only by a joint one (tasks to fix)."""
    with svc.engine.connect() as conn:
        facts = queries.facts_where(conn, svc.tables, district=district)
        coverage = queries.load_coverage(conn, svc.tables, [f.entity_id for f in facts])
    return r3_violations(facts, coverage)


@reads.get("/reviews/joint")
def joint_reviews(caller: Caller, svc: Service, district: str | None = Query(None, pattern=r"^\d{6}$"),
                  today: IsoDate | None = Query(None, description="judge ages as of this day (YYYY-MM-DD)")):
    """调整优化组织设置 (R3): joint organizations covering too many units or standing too long, with the units that
    could stand alone; the thresholds are the campaign calendar's, with their reasons."""
    on = today or svc.commands.today()
    with svc.engine.connect() as conn:
        organizations = [o for o in queries.active_organizations(conn, svc.tables, district) if o.mode == "joint"]
        facts = queries.load_facts(conn, svc.tables, [e for o in organizations for e in o.entity_ids])
    policy = svc.calendar.joint_review
    found = joint_review(organizations, facts, policy, on)
    return {"today": on, "policy": asdict(policy), "total": len(found), "organizations": found}


@reads.get("/suggestions/joint")
def joint_suggestions(caller: Caller, svc: Service, district: str = Query(..., pattern=r"^\d{6}$"),
                      street: str | None = Query(None, pattern=r"^\d{9}$")):
    """联合组建建议: groups of entities with < 3 formal members in one street/park (and industry) reaching 3."""
    from platform_core.reference import load_territory

    territory = load_territory()
    with svc.engine.connect() as conn:
        facts = queries.facts_where(conn, svc.tables, district=district, street=street)
        coverage = queries.load_coverage(conn, svc.tables, [f.entity_id for f in facts])
    uncovered = [f for f in facts if (c := coverage.get(f.entity_id)) is None or not c.any_organization()]

    def is_park(code: str | None) -> bool:
        found = territory.street(code) if code else None
        return found is not None and found.kind == "development_zone"

    return suggest(uncovered, is_park)


@reads.get("/spot-checks/{spot_check_id}")
def spot_check(spot_check_id: SpotId, caller: Caller, svc: Service):
    with svc.engine.connect() as conn:
        found = queries.samples(conn, svc.tables, spot_check_id)
    if not found:
        raise NotFound(f"spot check {spot_check_id} not found (or it drew nothing)", field="spot_check_id")
    return {"spot_check_id": spot_check_id, "sample": found}


@reads.get("/seed")
def seed(caller: Caller, svc: Service):
    """The seed the next spot check will use: the latest signed audit checkpoint known to formation."""
    with svc.engine.connect() as conn:
        checkpoint = queries.latest_checkpoint(conn, svc.tables)
    return {"checkpoint": checkpoint, "source": "checkpoint_root" if checkpoint else "fixed_value required"}
