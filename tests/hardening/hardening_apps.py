"""Each service's real app over a scratch schema, so fuzzing writes nothing into the shared service schemas.

The wiring mirrors each ``<service>/entrypoints/http.py`` (same routers, same app.state), with a
ServiceContext whose name is the scratch schema. No relay runs for it: nothing is published."""

import uuid

import sqlalchemy as sa
from fastapi import FastAPI

from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine
from platform_core.event_store import EventStore
from platform_core.kafka_io import service_topic
from platform_core.service import ServiceContext, build_app, service_migrations
from platform_core.settings import get_settings

SERVICES = ("registry", "membership", "formation", "reporting")
SCRATCH_PREFIX = "hd_"


def scratch_context(service: str, schema: str | None = None) -> ServiceContext:
    settings = get_settings()
    schema = schema or f"{SCRATCH_PREFIX}{service[:4]}_{uuid.uuid4().hex[:10]}"
    engine = create_db_engine(settings.database_url)
    store = EventStore(engine, schema, service_topic(service), event_types_for(service), settings.max_payload_bytes)
    return ServiceContext(schema, settings, engine, store, service_migrations(service))


def build_scratch_app(service: str, context: ServiceContext) -> FastAPI:
    if service == "registry":
        from registry.bootstrap import build_registry
        from registry.entrypoints.routes import entities, imports, ledgers, reference

        app = build_app(context, [entities.router, ledgers.router, imports.router, reference.router])
        app.state.registry = build_registry(context)
    elif service == "membership":
        from membership.bootstrap import build_membership
        from membership.entrypoints.routes import counts, router

        app = build_app(context, routers=[router, counts])
        app.state.membership = build_membership(context)
    elif service == "formation":
        from formation.bootstrap import build_formation
        from formation.entrypoints.routes import reads, router

        app = build_app(context, routers=[router, reads])
        app.state.formation = build_formation(context)
    elif service == "reporting":
        from reporting.entrypoints.http import create_app

        app = create_app(context)
    else:
        raise ValueError(service)
    return app


def prepare(service: str, context: ServiceContext) -> None:
    """What the lifespan and the projection runner would do first: migrate, and create read tables."""
    context.migrate()
    if service == "reporting":
        from reporting.adapters.projection_store import create_tables

        with context.engine.begin() as conn:
            create_tables(conn, context.name)


def drop(context: ServiceContext) -> None:
    """Drop the scratch schema and the as-of replay schemas reporting may have derived from it."""
    with context.engine.begin() as conn:
        derived = conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata"
                                       " WHERE schema_name LIKE :p"), {"p": f"{context.name}\\_asof\\_%"}).scalars()
        for schema in [context.name, *derived]:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    context.engine.dispose()
