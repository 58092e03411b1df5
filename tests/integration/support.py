"""Helpers the integration tests share (not fixtures)."""

import time

from kafka import KafkaConsumer
from pydantic import BaseModel, Field

from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import kafka_options


class ProfileUpdated(BaseModel):
    employees: int = Field(ge=0)
    note: str = ""


def make_event_types() -> EventTypeRegistry:
    registry = EventTypeRegistry()
    registry.register("EntityProfileUpdated", 1, ProfileUpdated)
    return registry


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Every record of a topic from the beginning, waiting until ``expected`` arrived."""
    consumer = KafkaConsumer(topic, **kafka_options(bootstrap), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=2000)
    records = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records
