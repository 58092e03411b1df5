"""The setup-milestone checklist (清单) as JSON (docs/milestones.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from platform_core.api_types import IsoDate
from platform_core.auth import Principal
from platform_core.http import authenticate
from reporting.handlers import milestones

router = APIRouter(tags=["milestones"])
Caller = Annotated[Principal, Depends(authenticate)]


@router.get("/milestones")
def milestone_checklist(request: Request, caller: Caller,
                        scope: str | None = Query(None, pattern=r"^(city|\d{6})$",
                                                  description="city, or a district code; default: the caller's own"),
                        as_of: IsoDate | None = Query(None, description="judge as of this day (YYYY-MM-DD); "
                                                                        "default the business date")) -> dict:
    """Each district's setup milestones (and its gathering zones'): on time, late, missing or not yet due (R10b)."""
    return milestones.view(request.app.state.context, milestones.scope_for(caller, scope), as_of)
