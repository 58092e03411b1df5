"""An intake command made from a route calls the route's own function, filled as FastAPI fills it."""

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from platform_core.auth import Principal
from platform_core.http import Caller, IdempotencyKey
from platform_core.intake.routes import route_commands

router = APIRouter()
Service = Annotated[str, Depends(lambda: "from the app")]  # as each service's entrypoints/deps.py declares it
calls = []


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employees: int | None = None
    note: str | None = None


class Answer(BaseModel):
    thing_id: str
    changed: list[str]


@router.patch("/things/{thing_id}", response_model=Answer, status_code=202)
def change_thing(thing_id: Annotated[str, Path(pattern=r"^thing-[0-9]+$")], body: Change, caller: Caller,
                 key: IdempotencyKey, response: Response, service: Service) -> dict:
    calls.append((caller.department, key, service, isinstance(response, Response)))
    return {"thing_id": thing_id, "changed": sorted(body.model_dump(exclude_unset=True)), "extra": "dropped"}


PRINCIPAL = Principal(department="city_org", kind="city_org", user="intake")


def test_the_route_runs_with_the_principal_the_key_the_service_and_only_the_fields_sent():
    (command,) = route_commands("test", router, "the service", {"change_thing": "change-thing"})
    assert command.ce_type == "cn.gov.wuhan.campaign.test.change-thing.v1" and command.status_code == 202
    data = command.model.model_validate({"thing_id": "thing-7", "employees": 3})
    assert command.answer(PRINCIPAL, data, "ce-1") == {"thing_id": "thing-7", "changed": ["employees"]}
    assert calls[-1] == ("city_org", "ce-1", "the service", True)


@pytest.mark.parametrize("data", [{"employees": 3}, {"thing_id": "other-7"}, {"thing_id": "thing-7", "colour": 1}])
def test_path_parameters_are_required_with_the_route_s_rules_and_unknown_fields_refused(data):
    (command,) = route_commands("test", router, None, {"change_thing": "change-thing"})
    with pytest.raises(ValidationError):
        command.model.model_validate(data)
