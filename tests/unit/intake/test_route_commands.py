"""An intake command made from a route calls the route's own function, filled as FastAPI fills it."""

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from platform_core.auth import Principal
from platform_core.http import Caller, IdempotencyKey, in_one_thread
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


@router.post("/things", response_model=Answer, status_code=201)
@in_one_thread
def make_thing(body: Change, caller: Caller, key: IdempotencyKey, service: Service) -> dict:
    calls.append((caller.department, key, service, False))
    return {"thing_id": "thing-1", "changed": sorted(body.model_dump(exclude_unset=True))}


PRINCIPAL = Principal(department="city_org", kind="city_org", user="intake")


def test_the_route_runs_with_the_principal_the_key_the_service_and_only_the_fields_sent():
    (command,) = route_commands("test", router, "the service", {"change_thing": "change-thing"})
    assert command.ce_type == "cn.gov.wuhan.campaign.test.change-thing.v1" and command.status_code == 202
    assert command.subject_field == "thing_id"  # a ce_subject must name the thing the route changes
    data = command.model.model_validate({"thing_id": "thing-7", "employees": 3})
    assert command.answer(PRINCIPAL, data, "ce-1") == {"thing_id": "thing-7", "changed": ["employees"]}
    assert calls[-1] == ("city_org", "ce-1", "the service", True)


@pytest.mark.parametrize("data", [{"employees": 3}, {"thing_id": "other-7"}, {"thing_id": "thing-7", "colour": 1}])
def test_path_parameters_are_required_with_the_route_s_rules_and_unknown_fields_refused(data):
    (command,) = route_commands("test", router, None, {"change_thing": "change-thing"})
    with pytest.raises(ValidationError):
        command.model.model_validate(data)


def test_a_route_made_async_by_in_one_thread_runs_its_own_function_as_an_intake_command():
    (command,) = route_commands("test", router, "the service", {"make_thing": "make-thing"})
    assert command.status_code == 201 and command.subject_field is None  # no path parameter, no entity_id
    data = command.model.model_validate({"note": "n"})
    assert command.answer(PRINCIPAL, data, "ce-2") == {"thing_id": "thing-1", "changed": ["note"]}
    assert calls[-1] == ("city_org", "ce-2", "the service", False)


def test_in_one_thread_answers_over_http_as_the_plain_route_would():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[Caller.__metadata__[0].dependency] = lambda: PRINCIPAL
    with TestClient(app) as client:
        answer = client.post("/things", json={"employees": 2})
    assert answer.status_code == 201 and answer.json() == {"thing_id": "thing-1", "changed": ["employees"]}
