"""Pipeline benchmark: append -> outbox -> Kafka, and Kafka -> projection, beside the raw limits.

Run: make bench   (or: eval "$(python3 deploy/stack.py env)"; .venv/bin/python bench/pipeline.py --events 20000)

Prints a markdown table. The raw limits are measured in the same run on the same
broker and database: a plain kafka-python produce loop and consume loop with the
same producer settings and message size, and PostgreSQL COPY into an unlogged table.
It works in a scratch schema and scratch topics, and removes them afterwards.
"""

import argparse
import io
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from pydantic import BaseModel

from platform_core.db import create_db_engine, migrate
from platform_core.envelope import Actor
from platform_core.event_store import EventStore
from platform_core.events import NewEvent
from platform_core.event_types import EventTypeRegistry
from platform_core.heap import freeze_startup_heap
from platform_core.kafka_io import DeadLetterPublisher, create_producer, kafka_options
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.settings import get_settings
from scratch import remove_scratch

ACTOR = Actor(department="district_org:420102", user="bench")


class Survey(BaseModel):
    employees: int
    industry: str
    note: str


def payload(n: int) -> dict:
    return {"employees": n % 500, "industry": "internet", "note": "排查登记 " + "x" * 200}


def timed(label: str, work) -> tuple[str, float]:
    started = time.perf_counter()
    work()
    return label, time.perf_counter() - started


def raw_produce_consume(bootstrap: str, topic: str, n: int, value: bytes, rounds: int = 3) -> tuple[float, float]:
    """The best of ``rounds`` plain produce loops and consume loops: a short loop on this shared machine
    varies by half from one try to the next, and the limit is what the client can do at best."""
    produce_rates, consume_rates = [], []
    for _ in range(rounds):
        produce_rates.append(raw_produce(bootstrap, topic, n, value))
        consume_rates.append(raw_consume(bootstrap, topic, n))
    return max(produce_rates), max(consume_rates)


def raw_produce(bootstrap: str, topic: str, n: int, value: bytes) -> float:
    """One plain kafka-python produce loop (the pipeline's producer settings), in messages/s."""
    producer = create_producer(bootstrap, "bench-raw")
    try:
        started = time.perf_counter()
        for i in range(n):
            producer.send(topic, key=f"entity-{i % 1000}".encode(), value=value)
        producer.flush()
        return n / (time.perf_counter() - started)
    finally:
        producer.close()


def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """A plain kafka-python consume loop over the topic's first n messages, in messages/s; timed from the
    start of the first poll that returns messages, as the projections are (connecting is not timed)."""
    consumer = KafkaConsumer(topic, **kafka_options(bootstrap), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, max_poll_records=500)
    try:
        started, seen = None, 0
        while seen < n:
            polled_at = time.perf_counter()
            got = sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
            if got and started is None:
                started = polled_at
            seen += got
        return n / (time.perf_counter() - started)
    finally:
        consumer.close()


def raw_copy(engine, schema: str, n: int, value: bytes) -> float:
    text = value.decode().replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    data = "".join(f"{i}\t{text}\n" for i in range(n))
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE {schema}.copy_limit (n int, body text)")
            raw.commit()
            started = time.perf_counter()
            cursor.copy_expert(f"COPY {schema}.copy_limit FROM STDIN", io.StringIO(data))
            raw.commit()
            return n / (time.perf_counter() - started)
    finally:
        raw.close()


def raw_single_inserts(engine, schema: str, n: int, value: bytes, threads: int = 8) -> float:
    """PostgreSQL's floor for one-row commands: ``threads`` bare psycopg2 connections, each committing one
    INSERT of an event-sized row per transaction (a logged table with a primary key, as the event store's),
    in rows/s. The commands' rate is read against it."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {schema}.single_insert_limit (id bigserial PRIMARY KEY, body bytea)"))
    connections = [engine.raw_connection() for _ in range(threads)]
    statement = f"INSERT INTO {schema}.single_insert_limit (body) VALUES (%s)"

    def loop(raw) -> None:
        with raw.cursor() as cursor:
            for _ in range(n // threads):
                cursor.execute(statement, (value,))
                raw.commit()

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(loop, connections))
        return n // threads * threads / (time.perf_counter() - started)
    finally:
        for raw in connections:
            raw.close()


RELAY_PROCESS = """
import signal, sys, threading
from platform_core.db import create_db_engine
from platform_core.heap import freeze_startup_heap
from platform_core.kafka_io import create_producer
from platform_core.outbox_relay import OutboxRelay
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
producer = create_producer(sys.argv[2], "bench-relay")
freeze_startup_heap()  # as `campaign relay` does
OutboxRelay(create_db_engine(sys.argv[1], pool_size=2), sys.argv[3], producer).run(stop, 0.2)
producer.close()
"""


def start_relay(schema: str) -> subprocess.Popen:
    settings = get_settings()
    relay = subprocess.Popen([sys.executable, "-c", RELAY_PROCESS, settings.database_url,
                              settings.kafka_bootstrap, schema])
    time.sleep(1.0)
    if relay.poll() is not None:
        raise SystemExit(f"the relay process exited with {relay.returncode}")
    return relay


def stop_relay(relay: subprocess.Popen) -> None:
    relay.terminate()
    relay.wait(timeout=30)


def wait_outbox_empty(engine, schema: str) -> None:
    unpublished = sa.text(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
    while True:
        with engine.connect() as conn:
            if not conn.execute(unpublished).scalar_one():
                return
        time.sleep(0.02)


def append_commands(store: EventStore, n: int, per_command: int, threads: int) -> float:
    """n events as n / per_command commands from several threads, each a new stream; returns seconds."""
    def command(i: int) -> None:
        store.append(f"entity-{uuid.uuid4()}", 0,
                     [NewEvent("EntitySurveyed", payload(i * per_command + k)) for k in range(per_command)], ACTOR)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(command, range(n // per_command)))
    return time.perf_counter() - started


def append_and_relay(engine, store: EventStore, schema: str, n: int, per_command: int, threads: int) -> float:
    """Commands from several threads while the relay (its own process, as in production)
    publishes; measured until the outbox is empty."""
    relay = start_relay(schema)
    try:
        started = time.perf_counter()
        appended_s = append_commands(store, n, per_command, threads)
        wait_outbox_empty(engine, schema)
        total_s = time.perf_counter() - started
    finally:
        stop_relay(relay)
    events = n // per_command * per_command
    print(f"  appended {events} events in {appended_s:.1f}s, all published after {total_s:.1f}s", file=sys.stderr)
    return events / total_s


def append_then_drain(engine, store: EventStore, schema: str, n: int, per_command: int,
                      threads: int) -> tuple[float, float]:
    """The two halves apart: the commands while the relay is paused (events/s appended), then the relay
    alone publishing that backlog (events/s from the outbox to Kafka, acknowledged and marked).

    The relay is started and proven live first (it publishes one event), then SIGSTOPped while the
    commands run and SIGCONTinued on the backlog, so its start-up is not counted as its rate."""
    relay = start_relay(schema)
    try:
        append_commands(store, 1, 1, 1)
        wait_outbox_empty(engine, schema)
        relay.send_signal(signal.SIGSTOP)
        try:
            appended_s = append_commands(store, n, per_command, threads)
        finally:
            relay.send_signal(signal.SIGCONT)
        started = time.perf_counter()
        wait_outbox_empty(engine, schema)
        drained_s = time.perf_counter() - started
    finally:
        stop_relay(relay)
    events = n // per_command * per_command
    print(f"  appended {events} events in {appended_s:.1f}s with the relay paused; it then published them in "
          f"{drained_s:.1f}s", file=sys.stderr)
    return events / appended_s, events / drained_s


def employees_projection(engine, table: str, create: bool = True):
    """A projection table keyed by stream (the employees of each surveyed entity), created here unless
    ``create`` is false, and its two handlers: one upsert per event, or one multi-row upsert per batch."""
    if create:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} (stream_id text primary key, employees int)"))
    upsert_one = sa.text(f"INSERT INTO {table} VALUES (:s, :e) ON CONFLICT (stream_id)"
                         " DO UPDATE SET employees = EXCLUDED.employees")
    upsert_many = sa.text(f"INSERT INTO {table} SELECT * FROM unnest(CAST(:s AS text[]), CAST(:e AS int[]))"
                          " ON CONFLICT (stream_id) DO UPDATE SET employees = EXCLUDED.employees")

    def handler(conn, envelope):
        conn.execute(upsert_one, {"s": envelope.stream_id, "e": envelope.payload["employees"]})

    def batch_handler(conn, envelopes):
        latest = {envelope.stream_id: envelope.payload["employees"] for envelope in envelopes}
        conn.execute(upsert_many, {"s": list(latest), "e": list(latest.values())})

    return handler, batch_handler


def project(engine, schema: str, topic: str, n: int, batched: bool) -> float:
    """Kafka -> a projection table, offsets in the same transaction; per-event or batched handler."""
    handler, batch_handler = employees_projection(
        engine, f"{schema}.employees_{'batched' if batched else 'per_event'}")
    producer = create_producer(get_settings().kafka_bootstrap, "bench-dlq")
    freeze_startup_heap()  # as `campaign consume` does once started
    applier = ProjectionApplier(schema, f"bench-{uuid.uuid4().hex[:6]}", None if batched else handler, None,
                                DeadLetterPublisher(producer), batch_handler=batch_handler if batched else None)
    consumer = ProjectionConsumer(engine, get_settings().kafka_bootstrap, [topic], applier, max_records=1000)
    done, started = 0, None
    while done < n:  # timed from the start of the first poll that returns events (group join excluded)
        polled_at = time.perf_counter()
        outcome = consumer.poll_once(timeout_ms=1000)
        if outcome.applied and started is None:
            started = polled_at
        done += outcome.applied
    elapsed = time.perf_counter() - started
    consumer.consumer.close()
    producer.close()
    return n / elapsed


def measure(events: int, per_command: int = 1, threads: int = 8, raw: dict | None = None,
            group_commit: int | None = None) -> dict:
    """Every stage in a scratch schema and scratch topics (removed afterwards); returns events/s per stage.

    ``raw`` (from ``raw_limits``) skips measuring the raw limits again when a caller measured them already."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=threads + 2)
    schema, suffix = f"bench_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    raw_topic, topic = f"bench.raw.{suffix}", f"bench.events.{suffix}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1)
                         for t in (raw_topic, topic)])
    migrate(engine, schema)
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    # the services' group commit (CAMPAIGN_GROUP_COMMIT_MAX) unless told otherwise
    group_commit = group_commit or settings.group_commit_max
    store = EventStore(engine, schema, topic, registry, group_commit_max=group_commit)
    value = sample_value(store)
    try:
        print(f"pipeline: {events} events of {len(value)} bytes, group commit {group_commit} ...", file=sys.stderr)
        if raw is None:
            raw_produce, raw_consume = raw_produce_consume(settings.kafka_bootstrap, raw_topic, events, value)
            raw = {"produce": raw_produce, "consume": raw_consume, "copy": raw_copy(engine, schema, events, value),
                   "single_insert": raw_single_inserts(engine, schema, events, value, threads)}
        pipeline_in = append_and_relay(engine, store, schema, events, per_command, threads)
        append_only, relay_drain = append_then_drain(engine, store, schema, events, per_command, threads)
        per_event_out = project(engine, schema, topic, events, batched=False)
        batched_out = project(engine, schema, topic, events, batched=True)
    finally:
        remove_scratch(engine, schema, admin, [raw_topic, topic])
    return {"events": events, "bytes": len(value), "raw": raw, "group_commit": group_commit,
            "append_to_kafka": pipeline_in,
            "append_only": append_only, "relay_drain": relay_drain,
            "projection_per_event": per_event_out, "projection_batched": batched_out}


def measure_commands(events: int, threads: int = 8, group_commits: tuple[int, ...] = (1, 32),
                     groups_executing: int = 2) -> dict:
    """The commands alone (``EventStore.append``, 1 event each, new streams, ``threads`` threads) beside the
    single-insert loop, in one scratch schema: the pair issue 24 compares, without Kafka. Once per group
    commit size (1: every command in its own transaction), alternating, in the same run."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=threads + 2)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    topic = f"bench.events.{uuid.uuid4().hex[:8]}"
    stores = [(size, EventStore(engine, schema, topic, registry, group_commit_max=size,
                                group_commit_executing=groups_executing)) for size in group_commits]
    value = sample_value(stores[0][1])
    try:
        single = raw_single_inserts(engine, schema, events, value, threads)
        commands = []
        for size, store in stores:
            append_commands(store, threads * 10, 1, threads)  # every connection prepared, as in a service
            print(f"commands alone, group commit {size} ...", file=sys.stderr)
            commands.append((size, events / append_commands(store, events, 1, threads)))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
    return {"events": events, "bytes": len(value), "single_insert": single, "commands": commands}


def sample_value(store: EventStore) -> bytes:
    """One event's canonical bytes, the message the raw loops send."""
    return store._envelopes("entity-sample", 0, [NewEvent("EntitySurveyed", payload(1))], ACTOR)[0][1]


def raw_limits(events: int, copy_rows: int | None = None) -> dict:
    """The raw limits on their own (scratch topic and schema, removed): kafka-python produce and consume
    loops with the pipeline's message size and producer settings, COPY into an unlogged table."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=8)  # the single-insert loop's 8 connections
    schema, topic = f"bench_{uuid.uuid4().hex[:8]}", f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=settings.topic_partitions, replication_factor=1)])
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    value = sample_value(EventStore(engine, schema, topic, registry))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        produce, consume = raw_produce_consume(settings.kafka_bootstrap, topic, events, value)
        return {"produce": produce, "consume": consume, "copy": raw_copy(engine, schema, copy_rows or events, value),
                "single_insert": raw_single_inserts(engine, schema, min(events, 20_000), value),
                "events": events, "copy_rows": copy_rows or events, "bytes": len(value)}
    finally:
        remove_scratch(engine, schema, admin, [topic])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--per-command", type=int, default=1, help="events per append (command)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent command threads")
    parser.add_argument("--commands-only", action="store_true",
                        help="only the commands (relay paused) beside the single-insert loop of the same run")
    parser.add_argument("--group-commit", type=int, nargs="+", default=None, metavar="N",
                        help="commands per shared transaction at most (1: each alone); --commands-only measures "
                             "each size given (default 1 and 32), the pipeline the first (default: the services' "
                             "CAMPAIGN_GROUP_COMMIT_MAX)")
    parser.add_argument("--groups-executing", type=int, default=2,
                        help="with --commands-only: groups running their commands at once (CAMPAIGN_GROUP_COMMIT_EXECUTING)")
    args = parser.parse_args()
    if args.commands_only:
        m = measure_commands(args.events, args.threads, tuple(args.group_commit or (1, 32)), args.groups_executing)
        print(f"single-insert loop ({m['bytes']} B rows, {args.threads} threads): {m['single_insert']:,.0f} rows/s")
        for size, rate in m["commands"]:
            print(f"commands alone, group commit {size}: {rate:,.0f} events/s; "
                  f"ratio {rate / m['single_insert']:.0%}")
        return
    m = measure(args.events, args.per_command, args.threads,
                group_commit=args.group_commit[0] if args.group_commit else None)
    raw = m["raw"]
    print(f"\n### Pipeline throughput ({args.events} events, {m['bytes']} bytes each, "
          f"{args.per_command} event(s) per command, {args.threads} command threads)\n")
    print("| stage | events/s | raw limit (same run) | raw events/s | pipeline / raw |")
    print("|---|---:|---|---:|---:|")
    print(f"| append -> outbox -> Kafka | {m['append_to_kafka']:,.0f} | kafka-python produce loop "
          f"| {raw['produce']:,.0f} "
          f"| {m['append_to_kafka'] / raw['produce']:.0%} |")
    print(f"| outbox -> Kafka: the relay alone on a backlog | {m['relay_drain']:,.0f} | kafka-python produce loop "
          f"| {raw['produce']:,.0f} | {m['relay_drain'] / raw['produce']:.0%} |")
    print(f"| append only: the commands, relay paused | {m['append_only']:,.0f} | PostgreSQL single-insert loop "
          f"(8 threads, 1 INSERT per transaction) | {raw['single_insert']:,.0f} "
          f"| {m['append_only'] / raw['single_insert']:.0%} |")
    for label, rate in (("per-event handler", m["projection_per_event"]), ("batch handler", m["projection_batched"])):
        print(f"| Kafka -> projection, {label} (offsets in the same tx) | {rate:,.0f} "
              f"| kafka-python consume loop | {raw['consume']:,.0f} | {rate / raw['consume']:.0%} |")
    print(f"| (reference) PostgreSQL COPY into an unlogged table | {raw['copy']:,.0f} rows/s | | | |")


if __name__ == "__main__":
    main()
