"""一企一策 / 一社一策 plan routes (R9): commands, the plans of the caller's territory, overdue plans."""

from fastapi import APIRouter, Query, Response

from platform_core.api_types import IsoDate
from platform_core.auth import Principal, division_prefix
from platform_core.errors import NotFound
from platform_core.http import Caller, IdempotencyKey
from platform_core.rules.plans import plan_overdue

from ..adapters import queries
from ..domain.model import EntityFacts
from ..handlers.plans import Responsible
from . import schemas
from .deps import PlanId, Service, command_result

router = APIRouter(tags=["plans"])


@router.post("/plans", status_code=201, response_model=schemas.CommandResult)
def create_plan(body: schemas.PlanIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """一企一策 / 一社一策: the plan of an entity without a Party organization (R9)."""
    outcome = svc.plans.create(caller, body.entity_id, body.measures, body.target_date,
                               Responsible(body.responsible.name, body.responsible.role), key)
    return command_result(outcome, response)


@router.post("/plans/{plan_id}/revise", response_model=schemas.CommandResult)
def revise_plan(plan_id: PlanId, body: schemas.PlanReviseIn, caller: Caller, key: IdempotencyKey, svc: Service,
                response: Response):
    """Revise measures, target date or responsible person, with a reason (R9, R10)."""
    responsible = Responsible(body.responsible.name, body.responsible.role) if body.responsible else None
    outcome = svc.plans.revise(caller, plan_id, body.reason, body.measures, body.target_date, responsible, key)
    return command_result(outcome, response)


@router.post("/plans/{plan_id}/progress", status_code=201, response_model=schemas.CommandResult)
def note_progress(plan_id: PlanId, body: schemas.PlanNoteIn, caller: Caller, key: IdempotencyKey, svc: Service,
                  response: Response):
    """Append a progress note to the plan (R9)."""
    outcome = svc.plans.note(caller, plan_id, body.note, body.noted_on, key)
    return command_result(outcome, response)


@router.get("/plans")
def list_plans(caller: Caller, svc: Service, district: str | None = Query(None, pattern=r"^\d{6}$"),
               street: str | None = Query(None, pattern=r"^\d{9}$"),
               ledger_unit: str | None = Query(None, max_length=80),
               overdue: bool | None = Query(None, description="true: only plans past their target date whose "
                                                              "entity still has no organization (R9)"),
               today: IsoDate | None = Query(None, description="judge as of this day (YYYY-MM-DD)")):
    """The plans in the caller's territory, by target date; ``overdue=true`` lists the overdue ones."""
    on = today or svc.commands.today()
    prefix = division_prefix(caller.territory) if caller.territory else None
    with svc.engine.connect() as conn:
        rows = queries.plans(conn, svc.tables, district=district, street=street, ledger_unit=ledger_unit,
                             territory_prefix=prefix)
    found = [plan_view(facts, row, on, caller) for facts, row in rows]
    if overdue is not None:
        found = [p for p in found if p["overdue"] == overdue]
    return {"today": on, "total": len(found), "plans": found}


@router.get("/plans/{plan_id}")
def get_plan(plan_id: PlanId, caller: Caller, svc: Service,
             today: IsoDate | None = Query(None, description="judge as of this day (YYYY-MM-DD)")):
    """One plan with every progress note, oldest first."""
    with svc.engine.connect() as conn:
        rows = queries.plans(conn, svc.tables, plan_id=plan_id)
        notes = queries.plan_notes(conn, svc.tables, plan_id) if rows else []
    if not rows or not caller.covers(rows[0][0].street_code or rows[0][0].district_code):
        raise NotFound(f"plan {plan_id} not found in the territory of {caller.department}", field="plan_id")
    facts, row = rows[0]
    return plan_view(facts, row, today or svc.commands.today(), caller) | {"progress": notes}


def plan_view(facts: EntityFacts, row: dict, on, caller: Principal) -> dict:
    """A plan as the API shows it; the responsible person's name only to ``read.personal`` in the territory."""
    covered = bool(row["covered"]) or facts.declared_mode is not None
    name_visible = caller.may("read.personal") and caller.covers(facts.street_code or facts.district_code)
    return {"plan_id": row["plan_id"], "label": row["label"], "entity_id": facts.entity_id, "entity_name": facts.name,
            "kind": facts.kind, "district_code": facts.district_code, "street_code": facts.street_code,
            "ledger_unit": row["plan_ledger_unit"], "measures": row["measures"], "target_date": row["target_date"],
            "responsible": {"role": row["responsible_role"],
                            "name": row["responsible_name"] if name_visible else None},
            "revision": row["revision"], "created_on": row["created_on"], "revised_on": row["revised_on"],
            "last_progress": ({"note": row["last_note"], "noted_on": row["last_noted_on"]}
                              if row["last_noted_on"] else None),
            "progress_notes": row["notes"], "organization_covered": covered,
            "overdue": plan_overdue(row["target_date"], on, covered)}
