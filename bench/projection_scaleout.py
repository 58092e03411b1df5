"""Kafka -> projection with 1 and with N consumer processes in ONE consumer group (the scale-out lever
"more consumers up to the partition count"), beside the raw kafka-python consume loop on the same topic.

Run: eval "$(python3 deploy/stack.py env)"; .venv/bin/python bench/projection_scaleout.py --events 100000
     [--partitions 6 12 --processes 1 2 4]   (one table: every process count on every partition count)

A scratch topic with --partitions partitions is filled with distinct events first. Each measurement
starts its consumer processes (the platform's ProjectionConsumer, batch handler, offsets in the same
transaction, as `campaign consume` runs it) in a fresh group and projection table; they join the group
with their partitions paused, and only once the group has settled are they all released at once. The
time runs from that release until the consumed offsets stored in PostgreSQL add up to every event.
So neither the group join nor a rebalance is timed. Scratch schema and topic are removed afterwards.
"""

import argparse
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from sqlalchemy.engine import Engine

from pipeline import ACTOR, Survey, employees_projection, payload, raw_consume
from platform_core.db import create_db_engine, migrate
from platform_core.event_store import EventStore
from platform_core.events import NewEvent
from platform_core.event_types import EventTypeRegistry
from platform_core.heap import freeze_startup_heap
from platform_core.kafka_io import DeadLetterPublisher, create_producer, kafka_options
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.settings import get_settings
from scratch import remove_scratch

SETTLE_SECONDS = 2.0  # the group counts as settled when no member reported a new assignment for this long
STALL_SECONDS = 60.0  # a measurement whose consumed offsets do not move for this long fails


class _HeldUntilReleased(ConsumerRebalanceListener):
    """Seeks to the stored offsets like the platform's listener, and pauses what it is given until released.

    A partition without stored offsets is sought to offset 0 (the scratch topic's start), not "to the
    beginning" (an offset reset): with kafka-python 3.0.12, pausing partitions whose reset was pending
    left 4 of 40 single-consumer runs fetching nothing after the resume; with offset 0, none of 40."""

    def __init__(self, projection: ProjectionConsumer, released: threading.Event):
        self.projection, self.released = projection, released

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        with self.projection.engine.connect() as conn:
            stored = self.projection.applier.stored_offsets(conn)
        for tp in assigned:
            self.projection.consumer.seek(tp, stored.get((tp.topic, tp.partition), 0))
        if not self.released.is_set():
            self.projection.consumer.pause(*assigned)
        print(f"assigned {len(assigned)}", flush=True)


def consumer_process(schema: str, topic: str, group: str, table: str) -> None:
    """One group member: runs until SIGTERM; SIGUSR1 releases its partitions."""
    settings = get_settings()
    released, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: released.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = create_db_engine(settings.database_url, pool_size=2)
    _, batch_handler = employees_projection(engine, table, create=False)
    producer = create_producer(settings.kafka_bootstrap, "bench-dlq")
    applier = ProjectionApplier(schema, group, None, None, DeadLetterPublisher(producer), batch_handler=batch_handler)
    projection = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier, max_records=1000)
    projection.consumer.subscribe([topic], listener=_HeldUntilReleased(projection, released))
    freeze_startup_heap()  # as `campaign consume` does once started
    resumed = False
    while not stop.is_set():
        if released.is_set() and not resumed:
            projection.consumer.resume(*projection.consumer.assignment())
            resumed = True
        projection.poll_once(timeout_ms=20 if not resumed else 500)
    projection.consumer.close()
    producer.close()


def fill_topic(store: EventStore, topic: str, n: int) -> None:
    producer = create_producer(get_settings().kafka_bootstrap, "bench-fill")
    for i in range(n):
        stream_id = f"entity-{uuid.uuid4()}"
        _, value = store._envelopes(stream_id, 0, [NewEvent("EntitySurveyed", payload(i))], ACTOR)[0]
        producer.send(topic, key=stream_id.encode(), value=value)
    producer.flush()
    producer.close()


def _watch_assignments(process: subprocess.Popen, assigned: list[int], index: int, changed: list[float]) -> None:
    for line in process.stdout:
        if line.startswith("assigned "):
            assigned[index] = int(line.split()[1])
            changed[0] = time.monotonic()


def measure_consumers(engine, schema: str, topic: str, partitions: int, n: int, consumers: int) -> float:
    """Events/s of ``consumers`` processes in one fresh group, from their release to all n events stored."""
    group = f"bench-scale-{uuid.uuid4().hex[:6]}"
    table = f"{schema}.employees_{group.replace('-', '_')}"
    employees_projection(engine, table)
    processes = [subprocess.Popen([sys.executable, __file__, "--consumer-process", schema, topic, group, table],
                                  stdout=subprocess.PIPE, text=True) for _ in range(consumers)]
    assigned, changed = [0] * consumers, [time.monotonic()]
    for index, process in enumerate(processes):
        threading.Thread(target=_watch_assignments, args=(process, assigned, index, changed), daemon=True).start()
    consumed = sa.text(f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.consumer_offsets WHERE group_id = :g")
    try:
        deadline = time.monotonic() + 60
        while not (sum(assigned) == partitions and all(assigned)
                   and time.monotonic() - changed[0] >= SETTLE_SECONDS):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"the group did not settle: partitions per member {assigned}")
            time.sleep(0.05)
        settled = list(assigned)
        started = time.perf_counter()
        for process in processes:
            process.send_signal(signal.SIGUSR1)
        with engine.connect() as conn:
            done, moved_at = 0, time.monotonic()
            while done < n:
                if any(p.poll() is not None for p in processes):
                    raise SystemExit("a consumer process exited during the measurement")
                if time.monotonic() - moved_at > STALL_SECONDS:
                    raise SystemExit(f"no progress for {STALL_SECONDS} s at {done} of {n} events "
                                     f"(partitions per member {settled})")
                time.sleep(0.01)
                now_done = conn.execute(consumed, {"g": group}).scalar_one()
                conn.commit()
                if now_done != done:
                    done, moved_at = now_done, time.monotonic()
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    print(f"  {consumers} consumer(s), partitions per member {settled}: {n} events in {elapsed:.2f} s",
          file=sys.stderr)
    return n / elapsed


@contextmanager
def filled_topic(events: int, partitions: int, what: str) -> Iterator[tuple[Engine, str, str]]:
    """A scratch schema and a topic of ``partitions`` partitions holding ``events`` distinct events (removed
    afterwards): (engine, schema, topic)."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=2)
    schema, topic = f"bench_{uuid.uuid4().hex[:8]}", f"bench.{what}.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    migrate(engine, schema)
    registry = EventTypeRegistry()
    registry.register("EntitySurveyed", 1, Survey)
    try:
        print(f"{what}: filling {topic} with {events} events ...", file=sys.stderr)
        fill_topic(EventStore(engine, schema, topic, registry), topic, events)
        yield engine, schema, topic
    finally:
        remove_scratch(engine, schema, admin, [topic])


def _rounds(engine, schema: str, topic: str, partitions: int, n: int, consumers: int, rounds: int) -> list[float]:
    """``rounds`` measurements; one that stalls (on a loaded machine a paused member now and then fetches
    nothing after its release) is said and measured again once, so it does not cost the other rows."""
    rates, retries = [], 1
    while len(rates) < rounds:
        try:
            rates.append(measure_consumers(engine, schema, topic, partitions, n, consumers))
        except SystemExit as exc:
            if not retries:
                raise
            retries -= 1
            print(f"  {consumers} consumer(s): {exc}; measured again", file=sys.stderr)
    return rates


def measure(events: int, partitions: int = 6, consumer_counts: tuple[int, ...] = (1, 2), rounds: int = 2) -> dict:
    """The raw consume loop (best of 3) and, per consumer count, the best of ``rounds`` measurements."""
    with filled_topic(events, partitions, "scale") as (engine, schema, topic):
        raw = max(raw_consume(get_settings().kafka_bootstrap, topic, events) for _ in range(3))
        rates = {count: max(_rounds(engine, schema, topic, partitions, events, count, rounds))
                 for count in consumer_counts}
    return {"events": events, "partitions": partitions, "raw_consume": raw, "rates": rates}


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--consumer-process":
        consumer_process(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, nargs="+", default=[6],
                        help="partition counts: one scratch topic (and its raw consume loop) each")
    parser.add_argument("--processes", "--consumers", dest="processes", type=int, nargs="+", default=[1, 2],
                        help="consumer process counts to measure on each topic")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per process count (best kept)")
    args = parser.parse_args()
    if any(count < 1 or count > min(args.partitions) for count in args.processes):
        parser.error("--processes: each count must be between 1 and the smallest --partitions")
    print(f"\n### Kafka -> projection scale-out ({args.events:,} events per topic; best of {args.rounds})\n")
    print("| partitions | consumer processes | events/s | raw consume loop (1 process, same topic, same run) "
          "| ratio | vs 1 process |")
    print("|---:|---:|---:|---:|---:|---:|", flush=True)
    for partitions in args.partitions:  # each topic's rows as soon as they are measured
        m = measure(args.events, partitions, tuple(args.processes), args.rounds)
        one = m["rates"].get(1)
        for count, rate in m["rates"].items():
            print(f"| {m['partitions']} | {count} | {rate:,.0f} | {m['raw_consume']:,.0f} "
                  f"| {rate / m['raw_consume']:.0%} | {f'{rate / one:.2f}x' if one else ''} |", flush=True)


if __name__ == "__main__":
    main()
