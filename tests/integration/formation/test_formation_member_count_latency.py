"""Formation's view of member counts follows membership.events within a second (real services, real Kafka).

A member is registered through the real membership app; the real outbox relay publishes it to
``membership.events``; formation's projection consumer (in a thread, on the real topics) applies it.
The delay from membership's committed command to formation's changed count is measured and printed.
"""

import random
import threading
import time
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition

from formation.adapters import queries
from formation.adapters.tables import tables
from formation.bootstrap import UPSTREAM_GROUP, build_projections
from formation_support import token
from platform_core.kafka_io import DeadLetterPublisher, create_producer, kafka_options
from platform_core.outbox_relay import OutboxRelay
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer, forget_progress

TOPICS = ["registry.events", "membership.events"]


def _id_number() -> str:
    from membership.domain.id_number import check_character

    born = date.fromordinal(random.randint(date(1950, 1, 1).toordinal(), date(1990, 12, 31).toordinal()))
    first17 = f"4201{random.randint(2, 17):02d}{born:%Y%m%d}{random.randint(0, 999):03d}"
    return first17 + check_character(first17)


def _start_at_the_end(engine, settings, group: str) -> None:
    """Store the topics' end offsets for a fresh group: it follows new events without replaying history."""
    probe = KafkaConsumer(**kafka_options(settings.kafka_bootstrap))
    try:
        partitions = [TopicPartition(t, p) for t in TOPICS for p in (probe.partitions_for_topic(t) or ())]
        ends = probe.end_offsets(partitions)
    finally:
        probe.close()
    with engine.begin() as conn:
        for tp, offset in ends.items():
            conn.execute(sa.text("INSERT INTO formation.consumer_offsets (group_id, topic, partition, next_offset)"
                                 " VALUES (:g, :t, :p, :o)"), {"g": group, "t": tp.topic, "p": tp.partition, "o": offset})


@pytest.mark.timeout(120)
def test_member_count_follows_membership_within_a_second(settings, engine, client, make_entity):
    from membership.entrypoints.http import app as membership_app

    spec = next(s for s in build_projections(client.app.state.context) if s.group_id == UPSTREAM_GROUP)
    group = f"{UPSTREAM_GROUP}.latency-{uuid.uuid4().hex[:8]}"
    _start_at_the_end(engine, settings, group)
    producer = create_producer(settings.kafka_bootstrap, "formation-latency-test")
    applier = ProjectionApplier("formation", group, None, spec.registry, DeadLetterPublisher(producer),
                                batch_handler=spec.batch_handler)
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, TOPICS, applier)
    relay = OutboxRelay(engine, "membership", producer)
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            consumer.poll_once(timeout_ms=50)

    def publish():
        while not stop.is_set():
            if not relay.publish_batch():
                stop.wait(0.02)

    threads = [threading.Thread(target=consume, daemon=True), threading.Thread(target=publish, daemon=True)]
    entity = make_entity(0, baseline=True)
    t = tables("formation")
    delays = []
    try:
        threads[0].start()
        deadline = time.monotonic() + 30
        while not consumer.consumer.assignment() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert consumer.consumer.assignment(), "the projection consumer got no partitions"
        threads[1].start()
        with TestClient(membership_app) as membership:
            for expected in (1, 2, 3):
                response = membership.post("/members/found", headers=token("city_org"), json={
                    "name": "王五", "id_number": _id_number(), "standing": "formal", "admitted_on": "2010-07-01",
                    "entity_id": entity, "organization_id": None})
                assert response.status_code == 201, response.text
                committed = time.monotonic()
                while time.monotonic() - committed < 10:
                    with engine.connect() as conn:
                        counts = queries.member_counts(conn, t, entity)
                    if counts["formal"] == expected:
                        break
                    time.sleep(0.01)
                delays.append(time.monotonic() - committed)
                assert counts["formal"] == expected and counts["source"] == "membership"
    finally:
        stop.set()
        for thread in threads:
            if thread.ident is not None:  # the publisher starts only once partitions are assigned
                thread.join(timeout=10)
        consumer.consumer.close()
        producer.close(timeout=10)
        with engine.begin() as conn:
            forget_progress(conn, "formation", group)
    print(f"\nformation member-count delay after membership's commit: "
          f"{', '.join(f'{d * 1000:.0f} ms' for d in delays)} (max {max(delays) * 1000:.0f} ms)")
    assert max(delays) < 1.0
