"""Membership's projection of registry.events, through a real Kafka consumer group."""

import time
import uuid

import sqlalchemy as sa

from membership.bootstrap import build_context, build_projections
from membership_support import entity_registered
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer


def test_spec_reads_registry_events_without_the_registry_contract():
    (spec,) = build_projections(build_context())
    assert spec.topics == ("registry.events",) and spec.registry is None


def test_entity_locations_arrive_from_kafka_and_bad_ones_are_dead_lettered(engine, settings, topic, producer):
    (spec,) = build_projections(build_context())
    good, moved = f"entity-{uuid.uuid4()}", f"entity-{uuid.uuid4()}"
    bad = entity_registered(f"entity-{uuid.uuid4()}", "420102")
    bad = bad.model_copy(update={"payload": {**bad.payload, "district_code": "4201"}})
    other = entity_registered(good, "420102").model_copy(update={"type": "EntityProfileUpdated",
                                                                 "event_id": uuid.uuid4()})
    for envelope in (entity_registered(good, "420102"), entity_registered(moved, "420103"), bad, other):
        producer.send(topic, key=envelope.stream_id.encode(), value=envelope.canonical_bytes())
    producer.flush()
    applier = ProjectionApplier("membership", f"membership.test-{uuid.uuid4().hex[:8]}", spec.handler, None,
                                DeadLetterPublisher(producer))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier)
    applied = dead = 0
    deadline = time.monotonic() + 30
    try:
        while applied + dead < 4 and time.monotonic() < deadline:
            outcome = consumer.poll_once(timeout_ms=500)
            applied, dead = applied + outcome.applied, dead + outcome.dead_lettered
    finally:
        consumer.consumer.close()
    assert (applied, dead) == (3, 1)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT entity_id, district_code FROM membership.known_entities WHERE entity_id IN (:a, :b, :c)"),
            {"a": good, "b": moved, "c": bad.payload["entity_id"]}).all())
    assert rows == {good: "420102", moved: "420103"}
