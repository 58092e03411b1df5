"""Audit-log benchmark: append rate and proof latency at 1,000,000 leaves. Prints a markdown table.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/audit_log.py [--leaves 1000000]

Works in a scratch schema (dropped afterwards). The big log is bulk-loaded with
COPY (leaf rows and every complete-subtree node, computed here with the same
CompactRange the adapter uses); then appends go through ``AuditLogStore.append``
(the processor's path, all indexes in place) and through the projection applier
(parse + dedupe by event_id + append, no Kafka), and proofs through the adapter.
The raw limit beside them: a plain PostgreSQL COPY of the same rows.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "services"))

import httpx  # noqa: E402

from platform_core.auth import Principal  # noqa: E402
from platform_core.db import create_db_engine, migrate  # noqa: E402
from platform_core.local_processes import free_port, stop_all, wait_ready  # noqa: E402
from platform_core.tokens import issuer_from_settings  # noqa: E402
from platform_core.envelope import Actor, EventEnvelope  # noqa: E402
from platform_core.kafka_io import DeadLetterPublisher  # noqa: E402
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier  # noqa: E402
from platform_core.settings import get_settings  # noqa: E402
from platform_core.merkle import CompactRange, verify_consistency, verify_inclusion  # noqa: E402
from reporting.audit.processor import audit_projection  # noqa: E402
from reporting.audit.store import AuditLogStore, copy_rows  # noqa: E402

import reporting  # noqa: E402

MIGRATIONS = Path(reporting.__file__).with_name("migrations")
START = datetime(2016, 8, 15, tzinfo=timezone.utc)


def make_event(n: int) -> EventEnvelope:
    moment = START + timedelta(milliseconds=n)
    return EventEnvelope(
        event_id=uuid.uuid4(), type="EntityProfileUpdated", schema_version=1, stream_id=f"entity-{uuid.uuid4()}",
        stream_version=1, occurred_at=moment, recorded_at=moment,
        actor=Actor(department="district_org:420102", user="clerk"),
        payload={"employees": n % 500, "division_code": "420102"})


def bulk_load(engine, schema: str, leaves: int, chunk: int = 50_000) -> float:
    """COPY ``leaves`` events and their tree; return the COPY rate in rows/s (the raw limit)."""
    tree = CompactRange()
    copy_seconds, copied = 0.0, 0
    with engine.begin() as conn:
        for index in ("audit_log_type_idx", "audit_log_actor_idx", "audit_log_recorded_idx",
                      "audit_log_entities_idx", "audit_log_units_idx"):
            conn.execute(sa.text(f"DROP INDEX {schema}.{index}"))  # rebuilt below, after the load
    while tree.size < leaves:
        events = [make_event(tree.size + i) for i in range(min(chunk, leaves - tree.size))]
        leaf_rows, node_rows = copy_rows(events, tree)
        with engine.begin() as conn, conn.connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.copy_expert(f"COPY {schema}.audit_log (leaf_index, event_id, leaf_hash, canonical, event_type,"
                               " stream_id, recorded_at, actor_department, entities, units) FROM STDIN", leaf_rows)
            cursor.copy_expert(f"COPY {schema}.audit_nodes (level, idx, hash) FROM STDIN", node_rows)
            copy_seconds += time.perf_counter() - started
            copied += len(events)
        print(f"  loaded {tree.size:,} leaves", file=sys.stderr)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {schema}.audit_heads (tree_size, root_hash) VALUES (:s, :r)"),
                     {"s": tree.size, "r": tree.root()})
        for sql in ("CREATE INDEX audit_log_type_idx ON {s}.audit_log (event_type, recorded_at)",
                    "CREATE INDEX audit_log_actor_idx ON {s}.audit_log (actor_department, recorded_at)",
                    "CREATE INDEX audit_log_recorded_idx ON {s}.audit_log (recorded_at)",
                    "CREATE INDEX audit_log_entities_idx ON {s}.audit_log USING GIN (entities)",
                    "CREATE INDEX audit_log_units_idx ON {s}.audit_log USING GIN (units)"):
            conn.execute(sa.text(sql.format(s=schema)))
        conn.execute(sa.text(f"ANALYZE {schema}.audit_log"))
        conn.execute(sa.text(f"ANALYZE {schema}.audit_nodes"))
    return copied / copy_seconds


def append_rate(engine, store: AuditLogStore, batch: int, total: int, offset: int) -> float:
    events = [make_event(offset + i) for i in range(total)]
    started = time.perf_counter()
    for i in range(0, total, batch):
        with engine.begin() as conn:
            store.append(conn, events[i:i + batch])
    return total / (time.perf_counter() - started)


class _NoDeadLetters(DeadLetterPublisher):
    def __init__(self):
        pass

    def publish(self, letter):
        raise RuntimeError(f"unexpected dead letter: {letter.reason}")


def applier_rate(engine, schema: str, batch: int, total: int, offset: int) -> float:
    spec = audit_projection(schema, topics=("bench",), group_id="bench-audit")
    applier = ProjectionApplier(schema, spec.group_id, None, None, _NoDeadLetters(), batch_handler=spec.batch_handler,
                                dedupe=spec.dedupe)
    records = [ConsumedRecord("bench", 0, offset + i, make_event(offset + i).canonical_bytes()) for i in range(total)]
    started = time.perf_counter()
    for i in range(0, total, batch):
        with engine.begin() as conn:
            applier.apply(conn, records[i:i + batch])
    return total / (time.perf_counter() - started)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def proof_latency(engine, store: AuditLogStore, size: int, samples: int, rng: random.Random) -> dict[str, tuple]:
    inclusion, consistency, by_event = [], [], []
    with engine.connect() as conn:
        root = store.root_at(conn, size)
        ids = [r[0] for r in conn.execute(sa.text(
            f"SELECT event_id FROM {store.schema}.audit_log WHERE leaf_index = ANY(:i)"),
            {"i": [rng.randrange(size) for _ in range(samples)]})]
        for _ in range(samples):
            index = rng.randrange(size)
            started = time.perf_counter()
            proof = store.inclusion_proof(conn, index, size)
            inclusion.append((time.perf_counter() - started) * 1000)
            leaf = store.fetch_nodes(conn, {(0, index)})[(0, index)]
            verify_inclusion(index, size, leaf, proof, root)
        for _ in range(samples):
            first = rng.randrange(1, size)
            started = time.perf_counter()
            proof = store.consistency_proof(conn, first, size)
            consistency.append((time.perf_counter() - started) * 1000)
            verify_consistency(first, size, proof, store.root_at(conn, first), root)
        for event_id in ids:
            started = time.perf_counter()
            leaf = store.leaf(conn, event_id)
            store.inclusion_proof(conn, leaf.leaf_index, size)
            by_event.append((time.perf_counter() - started) * 1000)
    return {"inclusion proof (leaf index)": percentiles(inclusion),
            "inclusion proof (by event_id, as the API)": percentiles(by_event),
            "consistency proof (random first size)": percentiles(consistency)}


def http_proof_latency(schema: str, event_ids: list, size: int) -> tuple[float, float]:
    """``GET /audit/proofs/inclusion`` on reporting's real app under uvicorn (one worker, as scripts/services.sh
    runs it) over this schema, one request at a time on a kept-alive connection: p50 and p99 in ms."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-audit-http-", suffix=".log", delete=False)
    env = dict(os.environ, BENCH_SERVICE="reporting", BENCH_SCHEMA=schema, BENCH_TOPIC=f"bench.audit.{schema}",
               CAMPAIGN_LOG_LEVEL="WARNING", PYTHONPATH=f"{BENCH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    app = subprocess.Popen([str(Path(sys.executable).parent / "uvicorn"), "http_apps:app", "--host", "127.0.0.1",
                            "--port", str(port), "--no-access-log"], env=env, cwd=BENCH.parent, stdout=log,
                           stderr=subprocess.STDOUT)
    token = issuer_from_settings(get_settings()).issue(Principal(department="inspector", kind="inspector", user="bench"))
    latencies = []
    try:
        wait_ready(port, 90, app, f"the bench app (log {log.name})")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
            for n, event_id in enumerate(event_ids * 2):
                started = time.perf_counter()
                response = client.get("/audit/proofs/inclusion", params={"event_id": str(event_id), "tree_size": size})
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"inclusion proof over HTTP: {response.status_code} {response.text[:200]}")
                if n >= len(event_ids):  # the first round warms the app, the pool and the caches
                    latencies.append(elapsed)
    finally:
        stop_all([app])
    return percentiles(latencies)


def measure(leaves: int, samples: int = 500, appends: int = 20_000) -> dict:
    """Bulk-load ``leaves`` leaves into a scratch schema (dropped after), then time appends and proofs."""
    engine = create_db_engine(get_settings().database_url, pool_size=2)
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema, MIGRATIONS)
    try:
        started = time.perf_counter()
        copy_rate = bulk_load(engine, schema, leaves)
        load_seconds = time.perf_counter() - started
        store = AuditLogStore(schema)
        rows = [("raw limit: PostgreSQL COPY of leaf + node rows (no indexes)", f"{copy_rate:,.0f} events/s")]
        append_rates, offset = {}, leaves
        for batch in (100, 500, 2000):
            append_rates[batch] = append_rate(engine, store, batch, appends, offset)
            offset += appends
            rows.append((f"append via AuditLogStore.append, batch {batch} (log at {leaves:,}+ leaves)",
                         f"{append_rates[batch]:,.0f} events/s"))
        applier = applier_rate(engine, schema, 500, appends, offset)
        rows.append(("append via the projection applier (parse + dedupe + append), batch 500",
                     f"{applier:,.0f} events/s"))
        with engine.connect() as conn:
            size = store.head(conn)[0]
        proofs = proof_latency(engine, store, size, samples, random.Random(1))
        picker = random.Random(2)
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.text(
                f"SELECT event_id FROM {schema}.audit_log WHERE leaf_index = ANY(:i)"),
                {"i": [picker.randrange(size) for _ in range(samples)]})]
        proofs["inclusion proof over HTTP (GET /audit/proofs/inclusion, uvicorn, one at a time)"] = \
            http_proof_latency(schema, ids, size)
        for name, (p50, p99) in proofs.items():
            rows.append((f"{name} at {size:,} leaves, p50 / p99", f"{p50:.2f} ms / {p99:.2f} ms"))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    return {"leaves": leaves, "size": size, "load_seconds": load_seconds, "copy_rate": copy_rate,
            "append_rates": append_rates, "applier_rate": applier, "proofs": proofs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    m = measure(args.leaves, args.samples)
    print(f"\n## Audit log benchmark ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"bulk load of {args.leaves:,} leaves took {m['load_seconds']:.0f} s)\n")
    print("| measure | result |\n|---|---|")
    for name, value in m["rows"]:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
