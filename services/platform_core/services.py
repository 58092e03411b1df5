"""The platform's services: the one list that names them. Their schemas, topics, PostgreSQL roles,
default HTTP ports and the modules that wire them are derived from it, here and in deploy/stack/.

Standard library only: ``deploy/stack.py`` imports it before any virtualenv exists. The bootstrap
modules are named here and imported only when a command asks for one (importing a service at
start-up would make the shared library depend on the services).
"""

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Service:
    name: str  # its package, PostgreSQL schema and Kafka principal
    default_port: int  # its HTTP app's port unless CAMPAIGN_<NAME>_PORT says otherwise (scripts/services.sh)
    bootstrap: str  # the module that wires it: build_context(), and what the operator's commands call

    @property
    def topic(self) -> str:
        """Each service publishes its events to ``<service>.events``, keyed by stream id."""
        return f"{self.name}.events"

    @property
    def db_role(self) -> str:
        """The PostgreSQL login role its processes run as (deploy/postgres/roles.sh creates it)."""
        return f"campaign_{self.name}"

    @property
    def port_variable(self) -> str:
        return f"CAMPAIGN_{self.name.upper()}_PORT"


SERVICES: tuple[Service, ...] = (
    Service("registry", 8101, "registry.bootstrap"),
    Service("membership", 8102, "membership.bootstrap"),
    Service("formation", 8103, "formation.bootstrap"),
    Service("reporting", 8104, "reporting.bootstrap"),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
# Services that run commands from the Kafka intake (docs/intake.md), in this order: the first also
# dead-letters what names no service. Each consumes every department's intake topic in the group
# ``<service>.intake``, as the Kafka principal ``<service>-consumer``.
INTAKE_SERVICES: tuple[str, ...] = ("registry", "membership", "formation")
EVENT_TOPICS: tuple[str, ...] = tuple(s.topic for s in SERVICES)


def service(name: str) -> Service:
    for known in SERVICES:
        if known.name == name:
            return known
    raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICE_NAMES)}")


def service_topic(name: str) -> str:
    return service(name).topic


def load_bootstrap(name: str) -> ModuleType:
    """The module that wires service ``name``, as the table above names it."""
    return importlib.import_module(service(name).bootstrap)
