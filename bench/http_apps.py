"""The services' real HTTP apps bound to a scratch schema and topic, for ``uvicorn http_apps:app``.

BENCH_SERVICE names the service, BENCH_SCHEMA and BENCH_TOPIC the scratch ones. The routers,
handlers and wiring are each service's own (its bootstrap's builders); only the schema and
topic differ from ``<service>.entrypoints.http:app``, so benchmarks never write into the
shared service schemas.
"""

import os

from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine
from platform_core.event_store import EventStore
from platform_core.service import ServiceContext, build_app, service_migrations
from platform_core.settings import get_settings


def scratch_context(service: str, schema: str, topic: str) -> ServiceContext:
    settings = get_settings()
    engine = create_db_engine(settings.database_url)
    store = EventStore(engine, schema, topic, event_types_for(service), settings.max_payload_bytes)
    return ServiceContext(schema, settings, engine, store, service_migrations(service))


def build(service: str, schema: str, topic: str):
    context = scratch_context(service, schema, topic)
    if service == "registry":
        from registry.bootstrap import build_registry
        from registry.entrypoints.routes import entities, imports, ledgers, reference
        app = build_app(context, [entities.router, ledgers.router, imports.router, reference.router])
        app.state.registry = build_registry(context)
    elif service == "membership":
        from membership.bootstrap import build_membership
        from membership.entrypoints.routes import counts, router
        app = build_app(context, [router, counts])
        app.state.membership = build_membership(context)
    elif service == "formation":
        from formation.bootstrap import build_formation
        from formation.entrypoints.routes import reads, router
        app = build_app(context, [router, reads])
        app.state.formation = build_formation(context)
    elif service == "reporting":
        from reporting.entrypoints.audit_routes import router as audit_router
        from reporting.entrypoints.routes import router as reporting_router
        app = build_app(context, [audit_router, reporting_router])
    else:
        raise SystemExit(f"BENCH_SERVICE {service!r} is not one of registry, membership, formation, reporting")
    return app


if os.environ.get("BENCH_SERVICE"):
    app = build(os.environ["BENCH_SERVICE"], os.environ["BENCH_SCHEMA"], os.environ["BENCH_TOPIC"])
