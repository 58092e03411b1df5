"""Event payload schemas, one module per publishing service.

Every module defines ``register(registry)``; consumers build a registry of
exactly the topics they read, so a schema lives in one place only.
"""

from collections.abc import Callable

from ..event_types import EventTypeRegistry
from . import formation, membership, registry, reporting

# service -> its contract; tests/unit/test_services.py checks it names every service of platform_core.services
CONTRACTS: dict[str, Callable[[EventTypeRegistry], None]] = {
    "registry": registry.register, "membership": membership.register,
    "formation": formation.register, "reporting": reporting.register,
}


def event_types_for(*services: str) -> EventTypeRegistry:
    types = EventTypeRegistry()
    for service in services:
        CONTRACTS[service](types)
    return types


def every_event_type() -> EventTypeRegistry:
    """The contracts of every service's topic (reporting reads them all)."""
    return event_types_for(*CONTRACTS)
