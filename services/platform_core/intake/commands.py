"""A service's intake commands: the CloudEvents type, the data's schema and the call the HTTP route makes."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..auth import Principal
from .command_types import CommandType

# (the department's principal, the data validated against ``model``, the idempotency key) -> the HTTP answer
RunCommand = Callable[[Principal, Any, str], Any]


@dataclass(frozen=True)
class IntakeCommand:
    service: str
    command: str  # kebab case, e.g. "register-entity"
    model: type[BaseModel]  # the route's request body, with its path parameters as fields
    run: RunCommand  # calls the same handler as the route, and shapes the answer as the route does
    version: int = 1
    response_model: type[BaseModel] | None = None  # the route's response_model: the answer is shaped as HTTP's
    status_code: int = 200  # the route's status on success (201 for a registration)
    # The data field naming what the command acts on, which a ce_subject must equal (docs/intake.md): the route's
    # first path parameter (the entity, member, unit...), else the entity or code its body names; None: nothing.
    subject_field: str | None = None

    @property
    def ce_type(self) -> str:
        return CommandType(self.service, self.command, self.version).ce_type

    def answer(self, principal: Principal, data: Any, idempotency_key: str) -> Any:
        """The command's answer as the route's JSON body."""
        answer = self.run(principal, data, idempotency_key)
        if self.response_model is None:
            return answer
        return self.response_model.model_validate(answer).model_dump(mode="json")

    def json_schema(self) -> dict:
        schema = self.model.model_json_schema()
        schema["title"] = self.ce_type
        return schema


def command_table(commands: list[IntakeCommand]) -> dict[str, IntakeCommand]:
    table = {command.ce_type: command for command in commands}
    if len(table) != len(commands):
        raise ValueError("two intake commands share a ce_type")
    return table
