"""A scratch Kafka topic for one test or fixture, deleted afterwards (tests/ is on sys.path via its conftest)."""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from platform_core.kafka_io import kafka_options


@contextmanager
def scratch_topic(bootstrap: str, prefix: str, partitions: int) -> Iterator[str]:
    name = f"{prefix}.{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        yield name
        admin.delete_topics([name])
    finally:
        admin.close()


def poll_until(consumer, expected: int, seconds: float = 30) -> tuple[int, int]:
    """Poll a ProjectionConsumer until ``expected`` records are handled (or ``seconds`` have passed), then
    close its Kafka consumer: (applied, dead-lettered)."""
    applied = dead = 0
    deadline = time.monotonic() + seconds
    try:
        while applied + dead < expected and time.monotonic() < deadline:
            outcome = consumer.poll_once(timeout_ms=500)
            applied, dead = applied + outcome.applied, dead + outcome.dead_lettered
    finally:
        consumer.consumer.close()
    return applied, dead
