"""Replay benchmark: N realistic campaign events straight into scratch topics, then reporting's
``replay_into`` a scratch schema, timed. Prints records/s.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/replay_bench.py [--events 1000000]

The events are written with a plain aiokafka producer (not through the event stores: a
million commands would take the benchmark's whole budget), keyed by stream id like the relay,
one topic per service. Topics and schema are removed afterwards.
"""

import argparse
import asyncio
import sys
import time
import uuid

import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from campaign_events import campaign_events, canonical_bytes
from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine
from platform_core.kafka_io import aiokafka_options, kafka_options
from platform_core.settings import get_settings
from reporting.adapters.replay import replay_into

SERVICES = ("registry", "membership", "formation")


def load_topics(bootstrap: str, events: int, partitions: int, seed: int = 2016) -> tuple[dict[str, str], float]:
    """Create one scratch topic per service and fill it; returns the topics and the load's seconds."""
    suffix = uuid.uuid4().hex[:8]
    topics = {s: f"bench.replay.{s}.{suffix}" for s in SERVICES}
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    try:
        admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics.values()])
    finally:
        admin.close()
    started = time.perf_counter()
    try:
        asyncio.run(_produce(bootstrap, topics, events, seed))
    except BaseException:
        delete_topics(bootstrap, topics.values())
        raise
    return topics, time.perf_counter() - started


async def _produce(bootstrap: str, topics: dict[str, str], events: int, seed: int) -> None:
    """aiokafka's producer: ~10x kafka-python's send loop here, so the setup does not dominate the run."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), linger_ms=10, max_batch_size=512 * 1024,
                                max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for i, event in enumerate(campaign_events(events, seed)):
            await producer.send(topics[event.service], key=event.stream_id.encode(),
                                value=canonical_bytes(event, i))
            if i and i % 200_000 == 0:
                print(f"  replay: {i:,} events written", file=sys.stderr)
        await producer.flush()
    finally:
        await producer.stop()


def delete_topics(bootstrap: str, topics) -> None:
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    try:
        admin.delete_topics(list(topics))
    finally:
        admin.close()


def measure(events: int, partitions: int | None = None) -> dict:
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=2)
    schema = f"bench_replay_{uuid.uuid4().hex[:8]}"
    print(f"replay: writing {events:,} events ...", file=sys.stderr)
    topics, load_seconds = load_topics(settings.kafka_bootstrap, events, partitions or settings.topic_partitions)
    try:
        print(f"replay: {events:,} events written in {load_seconds:.1f} s; replaying ...", file=sys.stderr)
        outcome = replay_into(engine, settings.kafka_bootstrap, schema,
                              event_types_for("registry", "membership", "formation", "reporting"),
                              topics=tuple(topics.values()), group_id="bench-replay")
        with engine.connect() as conn:
            entities = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.rp_entity_status")).scalar_one()
        if outcome.records != events or outcome.unusable:
            raise RuntimeError(f"replay read {outcome.records} of {events} events, "
                               f"{outcome.unusable} unusable")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        delete_topics(settings.kafka_bootstrap, topics.values())
        engine.dispose()
    return {"events": events, "entities": entities, "seconds": outcome.seconds, "per_second": outcome.per_second,
            "load_seconds": load_seconds, "load_per_second": events / load_seconds, "applied": outcome.applied,
            "write_seconds": outcome.write_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    m = measure(args.events)
    print(f"\n| measure | result |\n|---|---|\n"
          f"| write {m['events']:,} events with aiokafka (setup) | {m['load_per_second']:,.0f} events/s |\n"
          f"| replay_into a scratch schema ({m['entities']:,} entities) | {m['per_second']:,.0f} events/s "
          f"({m['seconds']:.1f} s, of which writing the tables {m['write_seconds']:.1f} s) |")


if __name__ == "__main__":
    main()
