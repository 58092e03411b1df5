"""Freshness benchmark: a steady rate of campaign events appended through the event store, published
by the relay, projected by reporting's coverage projection; the time from append to projection, p50/p99.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/freshness.py [--rate 1000 --seconds 30]

Everything runs on scratch resources (schema, topic, consumer group; removed afterwards) with the
production code: the relay (own process, as ``campaign relay``) and the coverage projection on the shared
driver (own process, as ``campaign consume reporting --projection coverage``, on the scratch topic and
group). Freshness of an event
= the ``seen_at`` of the ``stream_versions`` update that covered its version (a bench-only trigger
logs each raise of a stream's version with clock_timestamp(), in the projection's transaction just
before its commit) - ``events.recorded_at`` (the append).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib

import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from campaign_events import campaign_events
from pipeline import RELAY_PROCESS
from platform_core.local_processes import stop_all
from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine, migrate
from platform_core.envelope import Actor
from platform_core.event_store import EventStore
from platform_core.events import NewEvent
from platform_core.kafka_io import kafka_options
from platform_core.settings import get_settings
from scratch import remove_scratch
from reporting.adapters.projection_store import create_tables

ACTOR = Actor(department="district_org:420102", user="bench")
WARMUP = 30
# `campaign consume reporting --projection coverage` on the scratch group and topic (argv 1 and 2)
COVERAGE_PROCESS = """
import signal, sys, threading
from dataclasses import replace
from platform_core.heap import freeze_startup_heap
from platform_core.projection_consumer import run_projections
from reporting.bootstrap import build_context, coverage_projection
context = build_context()
spec = replace(coverage_projection(context), group_id=sys.argv[1], topics=(sys.argv[2],))
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
freeze_startup_heap()
run_projections(context.engine, context.settings.kafka_bootstrap, context.schema, [spec], stop)
"""


# Bench-only: each raise of a stream's version, with the moment the projection's transaction made it.
SEEN_LOG = """
CREATE TABLE {s}.seen_versions (group_id text, stream_id text, version_from bigint, version_to bigint,
                                seen_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION {s}.log_seen_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {s}.seen_versions (group_id, stream_id, version_from, version_to)
    VALUES (NEW.group_id, NEW.stream_id, NEW.previous_version, NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER log_seen_version AFTER INSERT OR UPDATE ON {s}.stream_versions
    FOR EACH ROW EXECUTE FUNCTION {s}.log_seen_version();
"""


def wait_processed(engine, schema: str, group: str, count: int, timeout: float) -> None:
    # a stream's versions run 1, 2, ...: the sum of the stored versions counts the events applied
    query = sa.text(f"SELECT coalesce(sum(version), 0) FROM {schema}.stream_versions WHERE group_id = :g")
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            done = conn.execute(query, {"g": group}).scalar_one()
        if done >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {count} events projected after {timeout:.0f} s")
        time.sleep(0.2)


def paced_appends(store: EventStore, events, rate: float, threads: int) -> tuple[float, int]:
    """Event i is due at start + i / rate; events of one stream stay on one thread (in order). A thread
    stops at 1.5x the planned duration (an overloaded machine does not stretch the run without end).
    Returns the seconds the appends took and how many were late by more than 100 ms."""
    shards = [[] for _ in range(threads)]
    for i, event in enumerate(events):
        shards[zlib.crc32(event.stream_id.encode()) % threads].append((i, event))
    late = [0] * threads
    started = time.perf_counter()
    stop_at = started + 1.5 * len(events) / rate

    def run(k: int) -> None:
        for i, event in shards[k]:
            if time.perf_counter() > stop_at:
                return
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:
                late[k] += 1
            store.append(event.stream_id, event.stream_version - 1, [NewEvent(event.type, event.payload)], ACTOR)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, sum(late)


def measure(rate: int = 1000, seconds: int = 30, threads: int = 4) -> dict:
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=threads + 2)
    suffix = uuid.uuid4().hex[:8]
    schema, topic, group = f"bench_fresh_{suffix}", f"bench.fresh.{suffix}", f"bench-fresh-{suffix}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=settings.topic_partitions, replication_factor=1)])
    migrate(engine, schema)
    with engine.begin() as conn:
        create_tables(conn, schema)
        conn.exec_driver_sql(SEEN_LOG.format(s=schema))
    store = EventStore(engine, schema, topic, event_types_for("registry", "membership", "formation"))
    events = list(campaign_events(WARMUP + rate * seconds, seed=int(suffix, 16) % 10_000))
    log = tempfile.NamedTemporaryFile(prefix="bench-fresh-", suffix=".log", delete=False)
    env = dict(os.environ, CAMPAIGN_REPORTING_SCHEMA=schema)
    relay = subprocess.Popen([sys.executable, "-c", RELAY_PROCESS, settings.database_url, settings.kafka_bootstrap,
                              schema], stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-c", COVERAGE_PROCESS, group, topic], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        print("freshness: warming up (coverage projection, relay) ...", file=sys.stderr)
        for event in events[:WARMUP]:
            store.append(event.stream_id, event.stream_version - 1, [NewEvent(event.type, event.payload)], ACTOR)
        wait_processed(engine, schema, group, WARMUP, timeout=120)
        print(f"freshness: {rate} events/s for {seconds} s ...", file=sys.stderr)
        append_seconds, late = paced_appends(store, events[WARMUP:], rate, threads)
        with engine.connect() as conn:
            appended = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.events")).scalar_one()
        wait_processed(engine, schema, group, appended, timeout=300)
        with engine.connect() as conn:
            lags = [row[0] for row in conn.execute(sa.text(
                f"SELECT extract(epoch FROM p.seen_at - e.recorded_at) FROM {schema}.seen_versions p"
                f" JOIN {schema}.events e ON e.stream_id = p.stream_id AND e.stream_version > p.version_from"
                " AND e.stream_version <= p.version_to WHERE p.group_id = :g AND e.global_position > :w"),
                {"g": group, "w": WARMUP})]
            outbox_lags = [row[0] for row in conn.execute(sa.text(
                f"SELECT extract(epoch FROM o.published_at - e.recorded_at) FROM {schema}.outbox o"
                f" JOIN {schema}.events e USING (event_id) WHERE e.global_position > :w"), {"w": WARMUP})]
    finally:
        stop_all([worker, relay], grace=30)
        remove_scratch(engine, schema, admin, [t for t in admin.list_topics() if t == topic or t.startswith(group)])
    lags.sort()
    outbox_lags.sort()
    return {"rate": rate, "seconds": seconds, "events": len(lags), "achieved": len(lags) / append_seconds,
            "late": late, "p50": statistics.median(lags), "p99": quantile(lags, 0.99), "max": lags[-1],
            "publish_p50": statistics.median(outbox_lags), "publish_p99": quantile(outbox_lags, 0.99)}


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    m = measure(args.rate, args.seconds, args.threads)
    print(f"\n| measure | result |\n|---|---|\n"
          f"| offered / achieved append rate | {m['rate']:,} / {m['achieved']:,.0f} events/s ({m['late']} late) |\n"
          f"| append -> published (relay) p50 / p99 | {m['publish_p50'] * 1000:.0f} / "
          f"{m['publish_p99'] * 1000:.0f} ms |\n"
          f"| append -> projection (faust) p50 / p99 / max | {m['p50'] * 1000:.0f} / {m['p99'] * 1000:.0f} / "
          f"{m['max'] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
