"""CloudEvents ``type`` names for the platform's commands and events (pure).

A command: ``cn.gov.wuhan.campaign.<service>.<command>.v<version>``, the command in kebab case
(``register-entity``); an event of the platform: ``cn.gov.wuhan.campaign.<service>.<EventType>.v<schema
version>`` (``EntityRegistered``). The service named in a command's type runs it; a message that names no
service (not a CloudEvent, a type outside the namespace) is dead-lettered by the first service with an intake.
"""

import re
from dataclasses import dataclass

NAMESPACE = "cn.gov.wuhan.campaign"
_COMMAND = re.compile(rf"{re.escape(NAMESPACE)}\.([a-z]+)\.([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.v([1-9][0-9]*)")


@dataclass(frozen=True)
class CommandType:
    service: str
    command: str
    version: int

    @property
    def ce_type(self) -> str:
        return f"{NAMESPACE}.{self.service}.{self.command}.v{self.version}"


def parse_command_type(ce_type: str) -> CommandType | None:
    """The command a ``ce_type`` names, or None when it has not the shape of one."""
    found = _COMMAND.fullmatch(ce_type)
    return CommandType(found[1], found[2], int(found[3])) if found else None


def event_ce_type(service: str, event_type: str, schema_version: int) -> str:
    return f"{NAMESPACE}.{service}.{event_type}.v{schema_version}"


def responsible_service(ce_type: str | None, services: tuple[str, ...]) -> str:
    """Which of ``services`` (those with an intake, in the platform's order) answers for a message: the one its
    type names, else the first (it dead-letters what no service can read)."""
    named = parse_command_type(ce_type) if ce_type else None
    return named.service if named is not None and named.service in services else services[0]
