"""Setup-milestone routes (R10b): declare a gathering zone, record a milestone, list the district's zones.

The checklist (on time, late, missing) is reporting's ``GET /milestones``; formation keeps the records.
"""

from fastapi import APIRouter, Query, Response

from platform_core.auth import division_prefix
from platform_core.http import Caller, IdempotencyKey

from ..domain.milestones import Document, RecordMilestone
from . import schemas
from .deps import Service, command_result

router = APIRouter(tags=["milestones"])


@router.post("/milestones/zones", status_code=201, response_model=schemas.CommandResult)
def declare_zone(body: schemas.ZoneIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """A park, development zone or street where 两新 organizations gather (三(二)): it must set up a guidance station
    and a Party committee (R10b)."""
    outcome = svc.milestones.declare_zone(caller, body.district_code, body.name, body.zone_kind, body.street_code,
                                          body.declared_on, key)
    return command_result(outcome, response)


@router.post("/milestones", status_code=201, response_model=schemas.CommandResult)
def record_milestone(body: schemas.MilestoneIn, caller: Caller, key: IdempotencyKey, svc: Service,
                     response: Response):
    """A setup milestone of a district or of one of its zones, done on a day, with its document (R10b)."""
    command = RecordMilestone(body.milestone, body.district_code, body.zone_id, body.done_on,
                              Document(body.document_number, body.document_title, body.document_sha256),
                              body.committee_kind)
    return command_result(svc.milestones.record(caller, command, key), response)


@router.get("/milestones/zones")
def list_zones(caller: Caller, svc: Service, district: str | None = Query(None, pattern=r"^\d{6}$")):
    """The gathering zones declared in the caller's territory (or one district of it)."""
    prefix = division_prefix(caller.territory) if caller.territory else None
    z = svc.tables.zones
    with svc.engine.connect() as conn:
        rows = conn.execute(z.select().order_by(z.c.district_code, z.c.declared_on, z.c.name)).mappings().all()
    zones = [dict(r) for r in rows if (prefix is None or r["district_code"].startswith(prefix))
             and (district is None or r["district_code"] == district)]
    return {"total": len(zones), "zones": zones}
