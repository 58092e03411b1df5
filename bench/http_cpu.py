"""The app's CPU per request, without the network: the registry's real ASGI app (every middleware, the route,
the database) called in-process, one request at a time, on a scratch schema (dropped after). On a shared
machine this moves far less than latencies do: read it as the framework's and the handler's cost.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/http_cpu.py [--requests 400] [--healthz]

POST /entities with simulator-generated facts (as bench/http_load.py), or GET /healthz (no database).
The process's CPU (all its threads: the thread pool's included) per request, after 50 unmeasured ones.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

import sqlalchemy as sa

from http_apps import build
from http_load import prepare
from platform_core.auth import Principal
from platform_core.settings import get_settings
from platform_core.tokens import issuer_from_settings

WARM_UP = 50


def request_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}


async def call(app, scope: dict, body: bytes, statuses: list[int]) -> None:
    delivered = [False]

    async def receive():
        if delivered[0]:
            await asyncio.sleep(3600)  # nothing more: the app answers before it asks again
        delivered[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)


async def measure(app, engine, schema: str, requests: int, healthz: bool) -> dict:
    token = issuer_from_settings(get_settings()).issue(Principal(department="city_org", kind="city_org", user="bench"))
    async with app.router.lifespan_context(app):
        if healthz:
            calls = [(request_scope("GET", "/healthz", [(b"host", b"x")]), b"")] * (requests + WARM_UP)
        else:
            bodies = [json.dumps(body).encode() for _, _, body in prepare("registry", engine, schema, requests + WARM_UP)]
            calls = [(request_scope("POST", "/entities", [
                (b"host", b"x"), (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]), body)
                for body in bodies]
        statuses: list[int] = []
        for scope, body in calls[:WARM_UP]:
            await call(app, scope, body, statuses)
        cpu, wall = time.process_time(), time.perf_counter()
        for scope, body in calls[WARM_UP:]:
            await call(app, scope, body, statuses)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu": cpu / requests, "wall": wall / requests, "statuses": sorted(set(statuses))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--healthz", action="store_true", help="GET /healthz instead of POST /entities")
    args = parser.parse_args()
    os.environ.setdefault("CAMPAIGN_LOG_LEVEL", "WARNING")
    schema = f"bench_cpu_{uuid.uuid4().hex[:8]}"
    app = build("registry", schema, f"bench.cpu.{uuid.uuid4().hex[:8]}")
    engine = app.state.engine
    try:
        m = asyncio.run(measure(app, engine, schema, args.requests, args.healthz))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    what = "GET /healthz" if args.healthz else "POST /entities"
    print(f"{what}: {m['cpu'] * 1000:.2f} ms CPU, {m['wall'] * 1000:.2f} ms wall per request "
          f"({args.requests} requests one at a time; statuses {m['statuses']}); machine: {os.cpu_count()} cores (shared)",
          file=sys.stdout)


if __name__ == "__main__":
    main()
