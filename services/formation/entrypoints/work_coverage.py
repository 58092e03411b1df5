"""Work coverage routes (R6): the four ways, the instructor roster and new organizations' guidance."""


from fastapi import APIRouter, Query, Response

from platform_core.api_types import IsoDate, Offset
from platform_core.http import Caller, IdempotencyKey

from ..adapters import queries
from ..domain.work_coverage import ROLE_ZH, unguided
from . import schemas
from .deps import AssignmentId, Service, command_result

router = APIRouter(tags=["work coverage"])


@router.post("/work-coverage/instructors", status_code=201, response_model=schemas.CommandResult)
def assign_instructor(body: schemas.InstructorIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """党建工作指导员 / 第一书记 for entities without an organization, or to guide new organizations (R6)."""
    outcome = svc.commands.assign_instructor(caller, body.name, body.role, body.entity_ids, body.assigned_on,
                                             body.organization_ids, key)
    return command_result(outcome, response)


@router.post("/work-coverage/instructors/{assignment_id}/end", response_model=schemas.CommandResult)
def end_assignment(assignment_id: AssignmentId, body: schemas.AssignmentEndIn, caller: Caller, key: IdempotencyKey,
                   svc: Service, response: Response):
    """An assignment ends: from then it no longer work-covers its entities nor guides its organizations (R6)."""
    outcome = svc.commands.end_assignment(caller, assignment_id, body.ended_on, body.reason, key)
    return command_result(outcome, response)


@router.post("/work-coverage/investor-education", status_code=201, response_model=schemas.CommandResult)
def investor_education(body: schemas.InvestorEducationIn, caller: Caller, key: IdempotencyKey, svc: Service,
                       response: Response):
    """出资人（负责人）教育引导, recorded by 统战 or 工商联 (R6)."""
    outcome = svc.commands.record_investor_education(caller, body.entity_ids, body.held_on, body.topic, key)
    return command_result(outcome, response)


@router.post("/work-coverage/joint-member-development", status_code=201, response_model=schemas.CommandResult)
def joint_member_development(body: schemas.JointDevelopmentIn, caller: Caller, key: IdempotencyKey, svc: Service,
                             response: Response):
    """联合发展党员: a Party organization develops members for entities without one (R6)."""
    outcome = svc.commands.record_joint_development(caller, body.entity_ids, body.started_on, body.organization_id,
                                                    body.organization_name, key)
    return command_result(outcome, response)


@router.post("/work-coverage/mass-organizations", status_code=201, response_model=schemas.CommandResult)
def mass_organization(body: schemas.MassOrganizationIn, caller: Caller, key: IdempotencyKey, svc: Service,
                      response: Response):
    """工会 / 共青团 / 妇联 formed in an entity (R6)."""
    outcome = svc.commands.record_mass_organization(caller, body.entity_id, body.kind, body.name, body.formed_on, key)
    return command_result(outcome, response)


@router.get("/work-coverage/instructors")
def instructor_roster(caller: Caller, svc: Service, district: str | None = Query(None, pattern=r"^\d{6}$"),
                      active: bool | None = None, limit: int = Query(200, ge=1, le=5000),
                      offset: Offset = 0):
    """党建工作指导员 / 第一书记 roster (R6): each assignment, its entities and organizations, and its end.
    Names only for departments that may read personal data in one of the assignment's districts."""
    with svc.engine.connect() as conn:
        rows = queries.roster(conn, svc.tables, district, active, limit, offset)
    return [{**{k: v for k, v in row.items() if k != "name"}, "role_zh": ROLE_ZH[row["role"]],
             "active": row["ended_on"] is None,
             "name": row["name"] if caller.may("read.personal") and any(caller.covers(d) for d in row["district_codes"])
             else None} for row in rows]


@router.get("/work-coverage/unguided-organizations")
def unguided_organizations(caller: Caller, svc: Service, district: str | None = Query(None, pattern=r"^\d{6}$"),
                           today: IsoDate | None = Query(None, description="judge as of this day (YYYY-MM-DD)")):
    """New organizations without an active first secretary or instructor (R6, 二(六) 一对一/一对多)."""
    on = today or svc.commands.today()
    with svc.engine.connect() as conn:
        organizations = queries.active_organizations(conn, svc.tables, district)
        assignments = queries.active_assignments(conn, svc.tables)
    found = unguided(organizations, assignments, svc.calendar.starts, on)
    return {"today": on, "total": len(found), "organizations": found}
