"""The one place that wires the formation service."""

from platform_core.event_types import EventTypeRegistry
from platform_core.service import ServiceContext, bootstrap_service


def build_context() -> ServiceContext:
    return bootstrap_service("formation", EventTypeRegistry())
