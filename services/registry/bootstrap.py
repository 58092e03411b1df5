"""The one place that wires the registry service."""

import os

from platform_core.contracts import event_types_for
from platform_core.service import ServiceContext, bootstrap_service
from registry.handlers.context import RegistryContext, default_vocabulary


def build_context() -> ServiceContext:
    return bootstrap_service("registry", event_types_for("registry"))


def build_registry(context: ServiceContext) -> RegistryContext:
    """Handlers' context; CAMPAIGN_TERRITORY_FILE points at another city's territory JSON."""
    return RegistryContext(context.engine, context.store, default_vocabulary(os.environ.get("CAMPAIGN_TERRITORY_FILE")))
