"""Pipeline benchmark: append -> outbox -> Kafka, and Kafka -> projection, beside the raw limits.

Run: make bench   (or: eval "$(python3 deploy/stack.py env)"; .venv/bin/python bench/pipeline.py --events 20000)

Prints a markdown table. The raw limits are measured in the same run on the same
broker and database: a plain kafka-python produce loop and consume loop with the
same producer settings and message size, and PostgreSQL COPY into an unlogged table.
It works in a scratch schema and scratch topics, and removes them afterwards.
"""

import argparse
import io
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
from platform_core.event_store import EventStore, NewEvent
from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.settings import get_settings

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


def raw_produce_consume(bootstrap: str, topic: str, n: int, value: bytes) -> tuple[float, float]:
    producer = create_producer(bootstrap, "bench-raw")
    started = time.perf_counter()
    for i in range(n):
        producer.send(topic, key=f"entity-{i % 1000}".encode(), value=value)
    producer.flush()
    produce_s = time.perf_counter() - started
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, max_poll_records=500)
    started, seen = time.perf_counter(), 0
    while seen < n:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
    consume_s = time.perf_counter() - started
    consumer.close()
    return n / produce_s, n / consume_s


def raw_copy(engine, schema: str, n: int, value: bytes) -> float:
    text = value.decode().replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    data = "".join(f"{i}\t{text}\n" for i in range(n))
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE {schema}.copy_limit (n int, body text)")
            started = time.perf_counter()
            cursor.copy_expert(f"COPY {schema}.copy_limit FROM STDIN", io.StringIO(data))
            raw.commit()
            return n / (time.perf_counter() - started)
    finally:
        raw.close()


RELAY_PROCESS = """
import signal, sys, threading
from platform_core.db import create_db_engine
from platform_core.kafka_io import create_producer
from platform_core.outbox_relay import OutboxRelay
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
producer = create_producer(sys.argv[2], "bench-relay")
OutboxRelay(create_db_engine(sys.argv[1], pool_size=2), sys.argv[3], producer).run(stop, 0.2)
producer.close()
"""


def append_and_relay(engine, store: EventStore, schema: str, n: int, per_command: int, threads: int) -> float:
    """Commands from several threads while the relay (its own process, as in production)
    publishes; measured until the outbox is empty."""
    settings = get_settings()
    relay = subprocess.Popen([sys.executable, "-c", RELAY_PROCESS, settings.database_url,
                              settings.kafka_bootstrap, schema])
    time.sleep(1.0)
    if relay.poll() is not None:
        raise SystemExit(f"the relay process exited with {relay.returncode}")
    commands = n // per_command

    def command(i: int) -> None:
        store.append(f"entity-{uuid.uuid4()}", 0,
                     [NewEvent("EntitySurveyed", payload(i * per_command + k)) for k in range(per_command)], ACTOR)

    unpublished = sa.text(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(command, range(commands)))
        appended_s = time.perf_counter() - started
        while True:
            with engine.connect() as conn:
                if not conn.execute(unpublished).scalar_one():
                    break
            time.sleep(0.02)
        total_s = time.perf_counter() - started
    finally:
        relay.terminate()
        relay.wait(timeout=30)
    print(f"  appended {commands * per_command} events in {appended_s:.1f}s, all published after {total_s:.1f}s",
          file=sys.stderr)
    return commands * per_command / total_s


def project(engine, schema: str, topic: str, n: int, batched: bool) -> float:
    """Kafka -> a projection table, offsets in the same transaction; per-event or batched handler."""
    table = f"{schema}.employees_{'batched' if batched else 'per_event'}"
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

    producer = create_producer(get_settings().kafka_bootstrap, "bench-dlq")
    applier = ProjectionApplier(schema, f"bench-{uuid.uuid4().hex[:6]}", None if batched else handler, None,
                                DeadLetterPublisher(producer), batch_handler=batch_handler if batched else None)
    consumer = ProjectionConsumer(engine, get_settings().kafka_bootstrap, [topic], applier, max_records=1000)
    done, started = 0, None
    while done < n:
        outcome = consumer.poll_once(timeout_ms=1000)
        if outcome.applied and started is None:
            started = time.perf_counter()
        done += outcome.applied
    elapsed = time.perf_counter() - started
    consumer.consumer.close()
    producer.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--per-command", type=int, default=1, help="events per append (command)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent command threads")
    args = parser.parse_args()
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=args.threads + 2)
    schema, suffix = f"bench_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    raw_topic, topic = f"bench.raw.{suffix}", f"bench.events.{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1)
                         for t in (raw_topic, topic)])
    migrate(engine, schema)
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    store = EventStore(engine, schema, topic, registry)
    sample = store._envelopes("entity-sample", 0, [NewEvent("EntitySurveyed", payload(1))], ACTOR)[0]
    value = sample.canonical_bytes()
    try:
        print(f"measuring {args.events} events of {len(value)} bytes ...", file=sys.stderr)
        raw_produce, raw_consume = raw_produce_consume(settings.kafka_bootstrap, raw_topic, args.events, value)
        copy_rate = raw_copy(engine, schema, args.events, value)
        pipeline_in = append_and_relay(engine, store, schema, args.events, args.per_command, args.threads)
        per_event_out = project(engine, schema, topic, args.events, batched=False)
        batched_out = project(engine, schema, topic, args.events, batched=True)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.delete_topics([raw_topic, topic])
        admin.close()
    print(f"\n### Pipeline throughput ({args.events} events, {len(value)} bytes each, "
          f"{args.per_command} event(s) per command, {args.threads} command threads)\n")
    print("| stage | events/s | raw limit (same run) | raw events/s | pipeline / raw |")
    print("|---|---:|---|---:|---:|")
    print(f"| append -> outbox -> Kafka | {pipeline_in:,.0f} | kafka-python produce loop | {raw_produce:,.0f} "
          f"| {pipeline_in / raw_produce:.0%} |")
    for label, rate in (("per-event handler", per_event_out), ("batch handler", batched_out)):
        print(f"| Kafka -> projection, {label} (offsets in the same tx) | {rate:,.0f} "
              f"| kafka-python consume loop | {raw_consume:,.0f} | {rate / raw_consume:.0%} |")
    print(f"| (reference) PostgreSQL COPY into an unlogged table | {copy_rate:,.0f} rows/s | | | |")


if __name__ == "__main__":
    main()
