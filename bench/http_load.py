"""HTTP benchmark: each service's real app under uvicorn (one worker, like scripts/services.sh) on a
free port, bound to a scratch schema and topic, its relay running; a fixed offered rate from a fixed
number of kept-alive client connections; achieved req/s, p50/p99 latency, errors.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/http_load.py [--rate 200 --seconds 20]

The command per service: registry POST /entities (a new entity, simulator-generated facts);
membership POST /members/found (a member of a known entity, personal data sealed); formation
POST /work-coverage/instructors (an instructor for a baseline entity); reporting GET /rates at
district level over 20,000 entities. The scratch projections the commands need (membership's
entity locations, formation's baseline) are filled by the services' own projection handlers.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from pipeline import RELAY_PROCESS
from platform_core.kafka_io import kafka_options
from platform_core.local_processes import free_port, stop_all, wait_ready
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.db import create_db_engine
from platform_core.envelope import Actor, EventEnvelope
from platform_core.reference import load_territory
from platform_core.settings import get_settings
from platform_core.services import SERVICE_NAMES as SERVICES
from scratch import remove_scratch

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
STATUS_ROWS = 20_000


def entities(count: int, run_tag: str) -> list:
    from simulator.world import generate_entities
    found = generate_entities(random.Random(run_tag), load_territory(), int(count * 1.2) + 20, run_tag)
    return [e for e in found if e.flag is None and not e.late_found][:count]


def registered(entity, entity_id: str) -> EventEnvelope:
    """The EntityRegistered the registry would have published for a simulator entity."""
    moment = datetime.now(timezone.utc)
    return EventEnvelope(event_id=uuid.uuid4(), type="EntityRegistered", schema_version=1, stream_id=entity_id,
                         stream_version=1, occurred_at=moment, recorded_at=moment,
                         actor=Actor(department="city_org", user="bench"),
                         payload=entity.facts() | {"entity_id": entity_id, "district_code": entity.district_code})


def prepare(service: str, engine, schema: str, count: int) -> list[tuple[str, str, dict | None]]:
    """The ``count`` requests (method, path, JSON body) and the scratch projection rows they need."""
    run_tag = uuid.uuid4().hex[:8]
    if service == "reporting":
        from reporting.adapters.projection_store import create_tables
        from reporting.entrypoints.cli import fill_synthetic_statuses
        with engine.begin() as conn:
            create_tables(conn, schema)
            fill_synthetic_statuses(conn, schema, STATUS_ROWS)
        return [("GET", "/rates?level=district", None)] * count
    found = entities(count, run_tag)
    if service == "registry":
        return [("POST", "/entities", e.facts()) for e in found]
    ids = [f"entity-{uuid.uuid4()}" for _ in found]
    envelopes = [registered(e, i) for e, i in zip(found, ids)]
    if service == "membership":
        from membership.handlers.entity_projection import entity_projection
        from simulator.identifiers import id_number
        handle = entity_projection(schema)
        with engine.begin() as conn:
            for envelope in envelopes:
                handle(conn, envelope)
        return [("POST", "/members/found", {"name": f"张{n}", "id_number": id_number(run_tag, n),
                                            "standing": "formal", "admitted_on": "2010-07-01", "entity_id": e})
                for n, e in enumerate(ids)]
    from formation.adapters.tables import tables
    from formation.handlers.projections import upstream_projection
    moment = datetime.now(timezone.utc)
    approved = EventEnvelope(event_id=uuid.uuid4(), type="LedgerApproved", schema_version=1, stream_id="ledger-b",
                             stream_version=1, occurred_at=moment, recorded_at=moment,
                             actor=Actor(department="city_org", user="bench"),
                             payload={"unit": "bench", "unit_kind": "street", "submission": 1, "entity_ids": ids,
                                      "entity_count": len(ids)})
    with engine.begin() as conn:
        upstream_projection(tables(schema))(conn, envelopes + [approved])
    return [("POST", "/work-coverage/instructors", {"name": f"指导员{n}", "role": "instructor", "entity_ids": [e],
                                                     "assigned_on": "2016-10-15"}) for n, e in enumerate(ids)]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one HTTP/1.1 request on a kept-alive connection; read the whole answer; return its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("the load client reads Content-Length bodies only")
    if length:
        await reader.readexactly(length)
    return status


def encode_requests(port: int, token: str, requests) -> list[bytes]:
    encoded = []
    for method, path, body in requests:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        encoded.append(head.encode() + payload)
    return encoded


def offered_load(port: int, token: str, requests, rate: float, clients: int) -> dict:
    """Request i is due at start + i / rate on connection i % clients; latency from the send to the answer.
    Connections stop at 1.5x the planned duration (an overloaded service does not stretch the run).

    One asyncio thread writes raw HTTP/1.1 on kept-alive connections: the client's own CPU per request
    is a fraction of httpx's, so the machine's two cores go to the service being measured."""
    encoded = encode_requests(port, token, requests)
    latencies, statuses, late = [], [], [0]

    async def connection(k: int, started: float, stop_at: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(k, len(encoded), clients):
                now = time.perf_counter()
                if now > stop_at:
                    return
                delay = started + i / rate - now
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    late[0] += 1
                sent = time.perf_counter()
                statuses.append(await _exchange(reader, writer, encoded[i]))
                latencies.append(time.perf_counter() - sent)
        finally:
            writer.close()

    async def run() -> float:
        started = time.perf_counter()
        stop_at = started + 1.5 * len(encoded) / rate
        await asyncio.gather(*(connection(k, started, stop_at) for k in range(clients)))
        return time.perf_counter() - started

    seconds = asyncio.run(run())
    latencies.sort()
    errors = [s for s in statuses if s >= 400]
    return {"requests": len(latencies), "achieved": len(latencies) / seconds, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "errors": len(errors),
            "error_statuses": sorted(set(errors)), "late": late[0]}


class ServiceUnderLoad:
    """One service's bench app under uvicorn (``workers`` processes) on a scratch schema and topic, its relay
    running, for as many runs of offered load as wanted; removes its scratch on exit."""

    def __init__(self, service: str, workers: int = 1):
        self.service, self.workers, self.settings = service, workers, get_settings()
        self.engine = create_db_engine(self.settings.database_url, pool_size=8)
        suffix = uuid.uuid4().hex[:8]
        self.schema, self.topic = f"bench_http_{service}_{suffix}", f"bench.http.{service}.{suffix}"
        self.admin = KafkaAdminClient(**kafka_options(self.settings.kafka_bootstrap))
        self.port, self.processes = free_port(), []
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-http-{service}-", suffix=".log", delete=False)
        self.token = issuer_from_settings(self.settings).issue(
            Principal(department="city_org", kind="city_org", user="bench"))

    def __enter__(self) -> "ServiceUnderLoad":
        self.admin.create_topics([NewTopic(self.topic, num_partitions=self.settings.topic_partitions,
                                           replication_factor=1)])
        env = dict(os.environ, BENCH_SERVICE=self.service, BENCH_SCHEMA=self.schema, BENCH_TOPIC=self.topic,
                   CAMPAIGN_LOG_LEVEL="WARNING",
                   PYTHONPATH=f"{BENCH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        try:
            app = subprocess.Popen([str(Path(sys.executable).parent / "uvicorn"), "http_apps:app", "--host",
                                    "127.0.0.1", "--port", str(self.port), "--no-access-log",
                                    "--workers", str(self.workers)],
                                   env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
            self.processes.append(app)
            wait_ready(self.port, 90, app, f"the bench app (log {self.log.name})")
            if self.workers > 1:  # every worker has run its startup (migrations of the scratch schema) once
                time.sleep(3)
            if self.service != "reporting":
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-c", RELAY_PROCESS, self.settings.database_url, self.settings.kafka_bootstrap,
                     self.schema], stdout=self.log, stderr=subprocess.STDOUT))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_) -> None:
        stop_all(self.processes)
        remove_scratch(self.engine, self.schema, self.admin, [self.topic])

    def run(self, rate: int, seconds: int, clients: int) -> dict:
        requests = prepare(self.service, self.engine, self.schema, rate * seconds)
        print(f"http: {self.service} at {rate} req/s for {seconds} s ({clients} clients, {self.workers} "
              f"worker(s)) ...", file=sys.stderr)
        cpu_before = process_tree_cpu(self.processes[0].pid)
        result = offered_load(self.port, self.token, requests, rate, clients)
        result["cpu_per_request"] = (process_tree_cpu(self.processes[0].pid) - cpu_before) / max(1, result["requests"])
        if result["errors"]:
            print(f"  {self.service}: {result['errors']} errors {result['error_statuses']}; see {self.log.name}",
                  file=sys.stderr)
        return result | {"service": self.service, "rate": rate, "clients": clients, "workers": self.workers,
                         "command": COMMANDS[self.service]}


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants (uvicorn's worker processes), from /proc."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, frontier = {pid}, [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier and child not in tree]
        tree.update(frontier)
    return sum(cpu.get(member, 0.0) for member in tree)


def measure_service(service: str, rate: int, seconds: int, clients: int, workers: int = 1) -> dict:
    with ServiceUnderLoad(service, workers) as under_load:
        return under_load.run(rate, seconds, clients)


P99_LIMIT_S = 0.050


def sustained(step: dict) -> bool:
    """A step the service kept up with: (nearly) all the offered rate, p99 under the line, no error."""
    return step["achieved"] >= 0.95 * step["rate"] and step["p99"] < P99_LIMIT_S and not step["errors"]


def saturation(service: str, start: int, factor: float, seconds: int, clients: int, workers: int = 1,
               past: int = 0, ceiling: int = 5_000) -> dict:
    """Raise the offered rate by ``factor`` from ``start`` until the service stops keeping up (p99 over 50 ms,
    an error, or under 95% of the offer), and ``past`` steps more (on a shared machine one stall fails a
    step; the steps after it show the throughput plateau): every step, and the highest rate sustained. One
    app for all steps."""
    steps, rate, failed = [], start, 0
    with ServiceUnderLoad(service, workers) as under_load:
        under_load.run(start, 3, clients)  # warm-up, not counted: first connections, caches, prepared statements
        while rate <= ceiling:
            steps.append(under_load.run(rate, seconds, clients))
            if not sustained(steps[-1]):
                failed += 1
                if failed > past or steps[-1]["achieved"] < 0.8 * rate:
                    break
            rate = int(rate * factor)
    best = max((s for s in steps if sustained(s)), key=lambda s: s["achieved"], default=None)
    return {"service": service, "workers": workers, "clients": clients, "steps": steps, "best": best,
            "command": COMMANDS[service]}


def single_insert_limit(rows: int = 10_000) -> float:
    """PostgreSQL's one-row-transaction floor (8 threads) in this run: the raw limit a command is read against."""
    from pipeline import raw_single_inserts
    engine = create_db_engine(get_settings().database_url, pool_size=8)
    schema = f"bench_raw_{uuid.uuid4().hex[:8]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        return raw_single_inserts(engine, schema, rows, b"x" * 600)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def print_saturation(found: dict, raw_inserts: float) -> None:
    print(f"\n{found['service']} {found['command']}: {found['workers']} worker process(es), {found['clients']} "
          f"kept-alive connections; raw PostgreSQL single-insert loop in this run: {raw_inserts:,.0f} rows/s\n\n"
          "| offered req/s | achieved req/s | p50 ms | p99 ms | errors | service CPU ms per request | kept up |\n"
          "|---:|---:|---:|---:|---:|---:|---|")
    for s in found["steps"]:
        print(f"| {s['rate']} | {s['achieved']:,.0f} | {s['p50'] * 1000:.1f} | {s['p99'] * 1000:.1f} | {s['errors']} "
              f"| {s['cpu_per_request'] * 1000:.2f} | {'yes' if sustained(s) else 'no'} |")
    best, most = found["best"], max(found["steps"], key=lambda s: s["achieved"])
    print(f"\nmost achieved: {most['achieved']:,.0f} req/s in total, {most['achieved'] / found['workers']:,.0f} per "
          f"worker process (offered {most['rate']}, p99 {most['p99'] * 1000:.1f} ms)")
    if best is None:
        print("\nnot sustained even at the first step", flush=True)
    else:
        print(f"\nsustained: {best['achieved']:,.0f} req/s in total, {best['achieved'] / found['workers']:,.0f} "
              f"per worker process (p99 {best['p99'] * 1000:.1f} ms)", flush=True)


COMMANDS = {"registry": "POST /entities", "membership": "POST /members/found",
            "formation": "POST /work-coverage/instructors", "reporting": "GET /rates?level=district (20k entities)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="offered req/s (the first step with --saturate)")
    parser.add_argument("--seconds", type=int, default=20, help="per rate")
    parser.add_argument("--clients", type=int, default=8, help="kept-alive connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the service")
    parser.add_argument("--saturate", action="store_true",
                        help="raise the rate by --factor until p99 > 50 ms, an error, or under 95%% of the offer")
    parser.add_argument("--factor", type=float, default=1.25)
    parser.add_argument("--past", type=int, default=0, help="steps to go on after the first one not kept up")
    parser.add_argument("--service", choices=SERVICES, action="append")
    args = parser.parse_args()
    if args.saturate:
        raw_inserts = single_insert_limit()
        for service in args.service or ["registry"]:
            print_saturation(saturation(service, args.rate, args.factor, args.seconds, args.clients, args.workers,
                                        args.past), raw_inserts)
        return
    print("\n| service | command | workers | offered | achieved req/s | p50 ms | p99 ms | errors |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")
    for service in args.service or SERVICES:
        m = measure_service(service, args.rate, args.seconds, args.clients, args.workers)
        print(f"| {service} | {m['command']} | {m['workers']} | {m['rate']} | {m['achieved']:,.0f} "
              f"| {m['p50'] * 1000:.1f} | {m['p99'] * 1000:.1f} | {m['errors']} |", flush=True)


if __name__ == "__main__":
    main()
