"""The formation service and path ids as the routes take them (their caller and idempotency key:
platform_core.http), and the command result."""

from typing import Annotated

from fastapi import Depends, Path, Request, Response

from platform_core.contracts.formation import ASSIGNMENT_ID, ENTITY_ID, ORGANIZATION_ID, PLAN_ID, SPOT_CHECK_ID
from platform_core.http import mark_replayed

from ..bootstrap import Formation
from ..handlers.commands import Outcome
from . import schemas


async def formation(request: Request) -> Formation:
    return request.app.state.formation


Service = Annotated[Formation, Depends(formation)]
OrgId = Annotated[str, Path(pattern=ORGANIZATION_ID)]
EntityId = Annotated[str, Path(pattern=ENTITY_ID)]
SpotId = Annotated[str, Path(pattern=SPOT_CHECK_ID)]
AssignmentId = Annotated[str, Path(pattern=ASSIGNMENT_ID)]
PlanId = Annotated[str, Path(pattern=PLAN_ID)]


def command_result(outcome: Outcome, response: Response) -> schemas.CommandResult:
    mark_replayed(response, outcome.result.replayed)
    return schemas.CommandResult(id=outcome.id, events=[
        schemas.EventRef(event_id=str(e.event_id), type=e.type, stream_id=e.stream_id) for e in outcome.result.events])
