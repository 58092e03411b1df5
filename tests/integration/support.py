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


class ScratchApps:
    """One service's app over a scratch schema, started again with other settings as a test needs (a restart
    with another key ring, say); ``close`` stops them and drops the schema."""

    def __init__(self, engine, service: str):
        import uuid

        self.engine, self.service, self.schema, self.clients = engine, service, f"s_{uuid.uuid4().hex[:12]}", []

    def start(self, settings):
        import importlib

        from fastapi.testclient import TestClient

        from platform_core.contracts import event_types_for
        from platform_core.service import bootstrap_service

        context = bootstrap_service(self.service, event_types_for(self.service), settings=settings, schema=self.schema)
        app = importlib.import_module(f"{self.service}.entrypoints.http").create_app(context)
        self.clients.append(TestClient(app).__enter__())  # runs the start-up (migrations, upgrades)
        return self.clients[-1]

    def close(self) -> None:
        import sqlalchemy as sa

        for client in self.clients:
            client.__exit__(None, None, None)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
