"""Event payload schemas, one module per publishing service.

Every module defines ``register(registry)``; consumers build a registry of
exactly the topics they read, so a schema lives in one place only.
"""

import importlib

from ..event_types import EventTypeRegistry


def event_types_for(*services: str) -> EventTypeRegistry:
    registry = EventTypeRegistry()
    for service in services:
        importlib.import_module(f"{__name__}.{service}").register(registry)
    return registry
