"""Wiring shared by every service: settings -> engine -> event store -> app."""

import importlib.util
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine

from .db import create_db_engine, migrate
from .event_store import EventStore
from .event_types import EventTypeRegistry
from .http import ERROR_RESPONSES, create_service_app
from .read_replica import Reads
from .logs import configure_logging
from .services import service_topic
from .settings import PlatformSettings, get_settings
from .tokens import verifier_from_settings


def service_migrations(service: str) -> Path | None:
    """A service package's own ``migrations/`` folder, found without importing the service."""
    spec = importlib.util.find_spec(service)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "migrations"
    return folder if folder.is_dir() else None


@dataclass
class ServiceContext:
    """What a service's handlers and entrypoints need, built once per process."""

    schema: str  # the service's schema (another for a second instance: an e2e campaign, a benchmark)
    settings: PlatformSettings
    engine: Engine
    store: EventStore
    migrations: Path | None
    # the query endpoints' connections: the standby's while fresh enough (platform_core.read_replica); by
    # default (no standby) the primary's
    reads: Reads | None = None

    def __post_init__(self) -> None:
        if self.reads is None:
            self.reads = Reads(self.engine, None, self.settings.read_max_lag_s)

    def migrate(self) -> list[str]:
        return migrate(self.engine, self.schema, self.migrations)


def bootstrap_service(name: str, registry: EventTypeRegistry, settings: PlatformSettings | None = None,
                      schema: str | None = None, topic: str | None = None, pool_size: int = 10) -> ServiceContext:
    """The service's context. ``schema`` (and ``topic``) run a second instance elsewhere: an isolated
    campaign in an end-to-end test, a benchmark or a fuzzing run on scratch ones."""
    settings = settings or get_settings()
    engine = create_db_engine(settings.database_url, pool_size=pool_size, password_file=settings.database_password_file)
    schema = schema or name
    store = EventStore(engine, schema, topic or service_topic(name), registry, settings.max_payload_bytes,
                       settings.group_commit_max, settings.group_commit_executing)
    standby = None if settings.read_database_url is None else create_db_engine(
        settings.read_database_url, pool_size=pool_size, password_file=settings.database_password_file,
        connect_timeout_s=2)
    return ServiceContext(schema, settings, engine, store, service_migrations(name),
                          Reads(engine, standby, settings.read_max_lag_s))


def build_app(context: ServiceContext, routers: Iterable[APIRouter] = (), description: str = "",
              on_startup: Callable[[], object] | None = None) -> FastAPI:
    """The service's HTTP app; its schema is migrated before the first request.

    Logging goes to JSON on stderr unless something (a test runner) configured it already."""
    if not logging.getLogger().handlers:
        configure_logging(context.schema, context.settings.log_level, context.settings.log_format)
    app = create_service_app(
        context.schema, context.engine, context.settings.kafka_bootstrap,
        verifier_from_settings(context.settings),
        max_request_bytes=context.settings.max_request_bytes, max_upload_bytes=context.settings.max_upload_bytes,
        description=description,
        on_startup=on_startup or context.migrate, simulated_clock=context.settings.simulated_clock,
        worker_stale_after_s=context.settings.worker_stale_after_s)
    app.state.context = context
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app
