"""Each service's real app over a scratch schema, so fuzzing writes nothing into the shared service schemas;
and a service as deployed (``running_service``) for what only a real server shows.

Each service's own ``create_app`` (``<service>/entrypoints/http.py``), with a ServiceContext whose
name is the scratch schema. No relay runs for it: nothing is published."""

import importlib
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI

from platform_core.contracts import event_types_for
from platform_core.local_processes import free_port, process_environment, stop_all, wait_ready
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


ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_service(service: str, folder: Path, settings: dict[str, str] | None = None) -> Iterator[int]:
    """The service as deployed: uvicorn in its own process with its own credentials, on the service's own
    schema, ``settings`` (CAMPAIGN_* variables) added; yields its port. Its log: ``folder/<service>.log``."""
    port = free_port()
    env = {**process_environment(service), "CAMPAIGN_LOG_LEVEL": "WARNING", **(settings or {})}
    process = subprocess.Popen([str(ROOT / ".venv/bin/uvicorn"), f"{service}.entrypoints.http:app", "--host",
                                "127.0.0.1", "--port", str(port), "--no-access-log"], env=env, cwd=ROOT,
                               stdout=(folder / f"{service}.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_ready(port, 120, process, what=service)
        yield port
    finally:
        stop_all([process])
