"""Each service's real app over a scratch schema, so fuzzing writes nothing into the shared service schemas.

Each service's own ``create_app`` (``<service>/entrypoints/http.py``), with a ServiceContext whose
name is the scratch schema. No relay runs for it: nothing is published."""

import importlib
import uuid

import sqlalchemy as sa
from fastapi import FastAPI

from platform_core.contracts import event_types_for
from platform_core.service import ServiceContext, bootstrap_service
from platform_core.services import SERVICE_NAMES as SERVICES

SCRATCH_PREFIX = "hd_"


def scratch_context(service: str, schema: str | None = None) -> ServiceContext:
    schema = schema or f"{SCRATCH_PREFIX}{service[:4]}_{uuid.uuid4().hex[:10]}"
    return bootstrap_service(service, event_types_for(service), schema=schema)


def build_scratch_app(service: str, context: ServiceContext) -> FastAPI:
    """The service's own app (its entrypoint's ``create_app``) over the scratch context."""
    if service not in SERVICES:
        raise ValueError(service)
    return importlib.import_module(f"{service}.entrypoints.http").create_app(context)


def prepare(service: str, context: ServiceContext) -> None:
    """What the app's lifespan would do first: migrate (reporting: and create its projection tables)."""
    if service == "reporting":
        from reporting.bootstrap import prepare_schema

        prepare_schema(context)
    else:
        context.migrate()


def drop(context: ServiceContext) -> None:
    """Drop the scratch schema and the as-of replay schemas reporting may have derived from it."""
    with context.engine.begin() as conn:
        derived = conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata"
                                       " WHERE schema_name LIKE :p"), {"p": f"{context.schema}\\_asof\\_%"}).scalars()
        for schema in [context.schema, *derived]:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    context.engine.dispose()
