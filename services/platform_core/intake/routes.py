"""An intake command made from an HTTP route: the route's own function is what runs, so a command from Kafka
and the same request over HTTP are one implementation, one answer.

The route's parameters are filled as FastAPI would: its caller with the department's principal, its
idempotency key with the ce_id, its service object with the given one, a fresh ``Response``; its body with the
data minus the path parameters, which the data carries as fields (validated with the route's own path rules).
"""

import inspect
import typing
from typing import Any

from fastapi.params import Body, Depends
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, create_model
from starlette.responses import Response

from ..auth import Principal
from ..http import authenticate, idempotency_key
from .commands import IntakeCommand


class _NoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _model_in(annotation) -> type[BaseModel] | None:
    """The pydantic model in a parameter's annotation (``Model``, ``Model | None``, ``Annotated[...]``)."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        if (found := _model_in(argument)) is not None:
            return found
    return None


def route_command(service: str, command: str, route: APIRoute, service_object: Any) -> IntakeCommand:
    """The intake command that runs ``route`` (a synchronous route answering a model, or one made async by
    ``platform_core.http.in_one_thread``: its endpoint runs)."""
    endpoint = route.endpoint.__wrapped__ if getattr(route.endpoint, "runs_in_one_thread", False) else route.endpoint
    if inspect.iscoroutinefunction(endpoint):
        raise ValueError(f"{route.path}: an async route (an upload) is no intake command")
    hints = typing.get_type_hints(endpoint, include_extras=True)
    path = {p.name: (p.field_info.annotation, p.field_info) for p in route.dependant.path_params}
    fillers: dict[str, Any] = {}
    body_name, body_model = None, None
    for name, parameter in inspect.signature(endpoint).parameters.items():
        hint = hints.get(name)
        depends = next((m for m in typing.get_args(hint)[1:] if isinstance(m, Depends)), None)
        if depends is not None:
            fillers[name] = {authenticate: "principal", idempotency_key: "key"}.get(depends.dependency, "service")
        elif inspect.isclass(hint) and issubclass(hint, Response):
            fillers[name] = "response"
        elif name not in path:
            body_name, body_model = name, _model_in(hint)
            if body_model is None and not any(isinstance(m, Body) for m in typing.get_args(hint)[1:]):
                raise ValueError(f"{route.path}: parameter {name} is neither path, body nor dependency")
    data_model = create_model(f"{command.title().replace('-', '')}Data", __base__=body_model or _NoBody,
                              **{name: (annotation, info) for name, (annotation, info) in path.items()})

    def run(principal: Principal, data: BaseModel, key: str) -> Any:
        given = {"principal": principal, "key": key, "service": service_object}
        arguments = {name: given[kind] if kind != "response" else Response() for name, kind in fillers.items()}
        arguments.update({name: getattr(data, name) for name in path})
        if body_name is not None and body_model is not None:
            arguments[body_name] = body_model.model_validate(
                data.model_dump(include=data.model_fields_set - set(path)))
        return endpoint(**arguments)

    return IntakeCommand(service, command, data_model, run, response_model=route.response_model,
                         status_code=route.status_code or 200, subject_field=_subject_field(list(path), data_model))


# A command without a path parameter acts on the entity its body names, or on the code a registration gives
# the entity it makes (the entity has no id yet).
SUBJECT_BODY_FIELDS = ("entity_id", "uscc")


def _subject_field(path: list[str], data_model: type[BaseModel]) -> str | None:
    if path:
        return path[0]
    return next((name for name in SUBJECT_BODY_FIELDS if name in data_model.model_fields), None)


def route_commands(service: str, router, service_object: Any, names: dict[str, str]) -> list[IntakeCommand]:
    """``names``: the route function's name -> the command's name (kebab case)."""
    routes = {route.name: route for route in router.routes if isinstance(route, APIRoute)}
    return [route_command(service, command, routes[name], service_object) for name, command in names.items()]
