"""What a synchronous standby costs a command's commit (docs/performance.md, "PostgreSQL standby: the cost of
synchronous commit").

    .venv/bin/python bench/pg_standby_commit.py [--seconds 8] [--clients 4] [--rounds 2]

Makes a private primary and a synchronous standby (the stack manager's `up --pg-sync-standby`, PostgreSQL
only, in a temporary run folder on free ports: it touches no running stack), then runs the same workload
under each ``synchronous_commit`` a session may choose with that configuration:

- ``on``: the commit waits until the standby has flushed it (``--pg-sync-standby``: none lost on failover);
- ``remote_apply``: ... and replayed it (a read on the standby right after sees it);
- ``local``: the commit waits for the primary's own disk only: what an asynchronous standby (the default
  ``--pg-standby``) or no standby costs;
- ``off``: it waits for no disk at all: the raw limit of this machine, measured in the same run.

The workload is a command's write in the event store's shape: one transaction inserting an event (a ~1 KB
JSON payload) and its outbox row, by ``--clients`` concurrent connections. Prints one markdown table:
commits/s, p50 and p99 latency, and each beside the raw limit. Never part of the test suite.

``--commands N`` then runs N of the platform's own commands (``EventStore.append``, 8 threads, 1 event each, as
``bench/pipeline.py --commands-only``) on the same pair under ``on``, without and with group commit
(platform_core.group_commit), in alternating order: where a commit waits for a standby, a shared one pays.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "services"))

import psycopg2  # noqa: E402

from platform_core.local_processes import free_port, process_environment, stack_module  # noqa: E402

MODES = ("on", "remote_apply", "local", "off")
PAYLOAD = json.dumps({"name": "测试有限公司" * 20, "street_code": "420102001", "members": list(range(150))})


def dsn(url: str) -> str:
    """libpq's form of the stack's SQLAlchemy URL (user@host:port/db?passfile=...)."""
    rest = url.split("://", 1)[1]
    user, rest = rest.split("@", 1)
    hostport, rest = rest.split("/", 1)
    database, _, query = rest.partition("?")
    host, port = hostport.rsplit(":", 1)
    options = dict(part.split("=", 1) for part in query.split("&") if part)
    return f"host={host} port={port} dbname={database} user={user} passfile={options['passfile']}"


def run_mode(conninfo: str, mode: str, seconds: float, clients: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = psycopg2.connect(conninfo)
        mine = []
        with conn.cursor() as cur:
            cur.execute(f"SET synchronous_commit = {mode}")
        conn.commit()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            with conn.cursor() as cur:
                event = str(uuid.uuid4())
                cur.execute("INSERT INTO bench_standby.events (event_id, payload) VALUES (%s, %s)", (event, PAYLOAD))
                cur.execute("INSERT INTO bench_standby.outbox (event_id) VALUES (%s)", (event,))
            conn.commit()
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--commands", type=int, default=0,
                        help="then this many event-store commands, without and with group commit")
    args = parser.parse_args()
    stack = stack_module()
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-standby-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    base.update(CAMPAIGN_RUN_DIR=str(folder / "stack"), CAMPAIGN_PG_PORT=str(free_port()),
                CAMPAIGN_PG_STANDBY_PORT=str(free_port()), CAMPAIGN_KAFKA_PORT=str(free_port()),
                CAMPAIGN_KAFKA_CONTROLLER_PORT=str(free_port()), CAMPAIGN_PG_STANDBY="sync")
    settings = stack.load_settings(base)
    try:
        stack.pg_up(settings)
        conninfo = dsn(process_environment("operator", base)["CAMPAIGN_DATABASE_URL"])
        conn = psycopg2.connect(conninfo)
        with conn.cursor() as cur:
            cur.execute("CREATE SCHEMA bench_standby; "
                        "CREATE TABLE bench_standby.events (event_id uuid PRIMARY KEY, payload jsonb NOT NULL, "
                        " recorded_at timestamptz NOT NULL DEFAULT now()); "
                        "CREATE TABLE bench_standby.outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL, "
                        " published_at timestamptz)")
            cur.execute("SELECT current_setting('synchronous_standby_names'), "
                        "(SELECT count(*) FROM pg_stat_replication)")
            waits_for, standbys = cur.fetchone()
        conn.commit()
        conn.close()
        assert waits_for == "campaign_standby" and standbys == 1, f"not synchronous: {waits_for!r}, {standbys}"
        # rounds in alternating order, so that neither a warming cache nor the shared machine's other work
        # favours one mode
        results = {mode: (0, []) for mode in MODES}
        for round_ in range(args.rounds):
            for mode in MODES if round_ % 2 == 0 else reversed(MODES):
                print(f"synchronous_commit = {mode}: {args.clients} clients for {args.seconds:.0f}s ...", file=sys.stderr)
                count, latencies = run_mode(conninfo, mode, args.seconds, args.clients)
                results[mode] = (results[mode][0] + count, results[mode][1] + latencies)
        commands = grouped_commands(process_environment("operator", base)["CAMPAIGN_DATABASE_URL"], args.commands,
                                    args.rounds) if args.commands else {}
    finally:
        stack.pg_down(settings)
        shutil.rmtree(folder, ignore_errors=True)
    raw_count, raw = results["off"]
    seconds = args.seconds * args.rounds
    raw_rate = raw_count / seconds
    print(f"\nPostgreSQL standby: the cost of synchronous commit ({args.clients} clients, {args.rounds} rounds "
          f"of {args.seconds:.0f}s each in alternating order, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; shared machine)\n")
    print("| synchronous_commit | what it waits for | commits/s | p50 ms | p99 ms | raw limit (off): commits/s, p50 ms |")
    print("|---|---|---|---|---|---|")
    waits = {"on": "the standby's flush (--pg-sync-standby)", "remote_apply": "the standby's replay",
             "local": "the primary's flush (async standby, or none)", "off": "nothing (raw limit)"}
    for mode in MODES:
        count, latencies = results[mode]
        print(f"| {mode} | {waits[mode]} | {count / seconds:,.0f} | {statistics.median(latencies) * 1000:.2f} | "
              f"{p99(latencies) * 1000:.2f} | {raw_rate:,.0f}, {statistics.median(raw) * 1000:.2f} |")
    if commands:
        print(f"\nThe platform's commands on the same pair (synchronous_commit on; {args.commands:,} EventStore.append"
              " calls, 8 threads, 1 event each; each run):\n")
        print("| group commit | commands/s (each round) | raw limit (off, above): commits/s |")
        print("|---|---|---|")
        for size, rates in commands.items():
            label = "none (a transaction per command)" if size == 1 else f"up to {size} commands a transaction"
            print(f"| {label} | {', '.join(f'{r:,.0f}' for r in rates)} | {raw_rate:,.0f} |")
    return 0


def grouped_commands(url: str, events: int, rounds: int) -> dict[int, list[float]]:
    """``EventStore.append`` from 8 threads, without (1) and with (32) group commit, alternating."""
    sys.path.insert(0, str(ROOT / "bench"))
    from pipeline import Survey, append_commands  # the same commands as --commands-only
    from platform_core.db import create_db_engine, migrate
    from platform_core.event_store import EventStore
    from platform_core.event_types import EventTypeRegistry

    engine = create_db_engine(url, pool_size=10)
    migrate(engine, "bench_commands")
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    stores = {size: EventStore(engine, "bench_commands", "bench.events", registry, group_commit_max=size,
                               group_commit_executing=2) for size in (1, 32)}
    rates: dict[int, list[float]] = {1: [], 32: []}
    for round_ in range(rounds):
        for size in (1, 32) if round_ % 2 == 0 else (32, 1):
            append_commands(stores[size], 80, 1, 8)  # every connection prepared
            print(f"commands, group commit {size} ...", file=sys.stderr)
            rates[size].append(events / append_commands(stores[size], events, 1, 8))
    engine.dispose()
    return rates


if __name__ == "__main__":
    sys.exit(main())
