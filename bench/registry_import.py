"""Benchmark: import a 10,000-row 附表1 spreadsheet through the registry's HTTP API.

Generates its own XLSX (realistic rows over several districts), uploads it to
the real registry routes bound to a fresh PostgreSQL schema and Kafka topic
(dropped afterwards), and prints a markdown table: rows/s and total seconds,
beside the raw PostgreSQL COPY speed measured in the same run.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/registry_import.py [--rows 10000] [--csv]
"""

import argparse
import io
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "registry"))

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from registry_sheets import csv_bytes, form1_rows, xlsx  # noqa: E402

from platform_core.auth import Principal  # noqa: E402
from platform_core.tokens import issuer_from_settings  # noqa: E402
from platform_core.contracts import event_types_for  # noqa: E402
from platform_core.db import create_db_engine  # noqa: E402
from platform_core.event_store import EventStore  # noqa: E402
from platform_core.kafka_io import kafka_options  # noqa: E402
from platform_core.service import ServiceContext, build_app, service_migrations  # noqa: E402
from platform_core.settings import PlatformSettings  # noqa: E402
from scratch import remove_scratch  # noqa: E402
from registry.entrypoints.routes import entities, imports, ledgers  # noqa: E402
from registry.bootstrap import build_registry  # noqa: E402


def copy_limit(engine, rows: int) -> float:
    """Seconds for PostgreSQL COPY of ``rows`` event-sized rows into a temporary table (the raw limit)."""
    payload = '{"name": "武汉示例科技有限公司", "employees": 120, "street_code": "420102002"}'
    data = "".join(f"{uuid.uuid4()}\tentity-{uuid.uuid4()}\t{payload}\n" for _ in range(rows)).encode()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TEMP TABLE bench_copy (id uuid, stream text, payload jsonb)")
        started = time.perf_counter()
        cursor.copy_expert("COPY bench_copy FROM STDIN", io.BytesIO(data))
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def measure(rows: int, as_csv: bool = False) -> dict:
    """Upload a generated 附表1 of ``rows`` rows through the real routes in a scratch schema and topic."""
    settings = PlatformSettings(max_request_bytes=64 * 1024 * 1024)
    engine = create_db_engine(settings.database_url)
    schema, topic = f"bench_registry_{uuid.uuid4().hex[:8]}", f"bench.registry.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    store = EventStore(engine, schema, topic, event_types_for("registry"), settings.max_payload_bytes)
    context = ServiceContext(schema, settings, engine, store, service_migrations("registry"))
    app = build_app(context, [entities.router, ledgers.router, imports.router])
    app.state.registry = build_registry(context)  # the real sealing of the persons (registry's master key)
    token = issuer_from_settings(settings).issue(Principal(department="city_org", kind="city_org", user="bench"))

    started = time.perf_counter()
    generated_rows = form1_rows(rows, seed=2016)
    content = csv_bytes(generated_rows) if as_csv else xlsx(generated_rows)
    generated = time.perf_counter() - started
    try:
        with TestClient(app) as client:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.post("/imports/form1", headers={"Authorization": f"Bearer {token}"},
                                   files={"file": ("附表1." + ("csv" if as_csv else "xlsx"), content,
                                                   "application/octet-stream")})
            total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        body = response.json()
        if response.status_code != 201:
            raise SystemExit(f"import failed ({response.status_code}): {body.get('message')} {body.get('errors', [])[:3]}")
        with engine.connect() as conn:
            stored = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.events")).scalar_one()
        copy_seconds = copy_limit(engine, rows * 2)
    finally:
        remove_scratch(engine, schema, admin, [topic])
    return {"rows": rows, "kind": "CSV" if as_csv else "XLSX", "kib": len(content) / 1024, "generated": generated,
            "imported": body["imported"], "total": total, "cpu": cpu, "server_seconds": body["seconds"], "events": stored,
            "copy_rows": rows * 2, "copy_seconds": copy_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--csv", action="store_true", help="upload CSV instead of XLSX")
    args = parser.parse_args()
    m = measure(args.rows, args.csv)
    print(f"\n### Registry import of 附表1 ({m['kind']}, {args.rows} rows, {m['kib']:.0f} KiB)\n")
    print("| measure | rows | seconds | rows/s |")
    print("|---|---:|---:|---:|")
    print(f"| spreadsheet generation (not part of the import) | {args.rows} | {m['generated']:.2f} | |")
    print(f"| import through HTTP: parse, validate, append events + outbox + read rows (total) | {m['imported']} "
          f"| {m['total']:.2f} | {m['imported'] / m['total']:,.0f} |")
    print(f"| of which server-side handler time (recorded with the import) | {m['imported']} "
          f"| {m['server_seconds']:.2f} | {m['imported'] / m['server_seconds']:,.0f} |")
    print(f"| of which the service's CPU (this process: the app runs in it) | {m['imported']} | {m['cpu']:.2f} "
          f"| {m['imported'] / m['cpu']:,.0f} |")
    print(f"| raw limit: PostgreSQL COPY of event-sized rows, same run | {m['copy_rows']} | {m['copy_seconds']:.2f} "
          f"| {m['copy_rows'] / m['copy_seconds']:,.0f} |")
    print(f"\nevents stored: {m['events']}; machine: {os.cpu_count()} cores (shared)")


if __name__ == "__main__":
    main()
