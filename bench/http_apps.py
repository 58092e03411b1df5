"""The services' real HTTP apps bound to a scratch schema and topic, for ``uvicorn http_apps:app``.

BENCH_SERVICE names the service, BENCH_SCHEMA and BENCH_TOPIC the scratch ones. The app is each
service's own (its entrypoint's ``create_app``); only the schema and topic differ from ``<service>.entrypoints.http:app``, so benchmarks never write into the
shared service schemas.
"""

import importlib
import os

from platform_core.contracts import event_types_for
from platform_core.service import bootstrap_service
from platform_core.services import SERVICE_NAMES


def build(service: str, schema: str, topic: str):
    if service not in SERVICE_NAMES:
        raise SystemExit(f"BENCH_SERVICE {service!r} is not one of {', '.join(SERVICE_NAMES)}")
    context = bootstrap_service(service, event_types_for(service), schema=schema, topic=topic)
    return importlib.import_module(f"{service}.entrypoints.http").create_app(context)


if os.environ.get("BENCH_SERVICE"):
    app = build(os.environ["BENCH_SERVICE"], os.environ["BENCH_SCHEMA"], os.environ["BENCH_TOPIC"])
