"""While formation's projection lags behind the upstream topics, a refusal on projected facts is a 409
``projection_behind`` with Retry-After, not a rule refusal; once it caught up the command is decided on
the new facts (real Kafka topic, formation's projection applier storing its offsets, real PostgreSQL).

The projection reads the scratch topic with a consumer outside any group (assigned every partition), so a
group's rebalancing on a busy machine cannot make the tests wait; offsets are stored by the same applier
that formation's consumer group uses.
"""

import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition

from formation.adapters.tables import tables
from formation.handlers.projections import upstream_projection
from formation_support import UPSTREAM_TYPES, entity_registered, formation_app, member_registered
from platform_core.kafka_io import kafka_options
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier


class Projection:
    """Formation's upstream projection of one scratch topic, for group ``group``."""

    def __init__(self, engine, settings, producer, group: str, topic: str):
        self.engine, self.topic = engine, topic
        self.applier = ProjectionApplier("formation", group, None, UPSTREAM_TYPES, DeadLetterPublisher(producer),
                                         batch_handler=upstream_projection(tables("formation")))
        self.consumer = KafkaConsumer(**kafka_options(settings.kafka_bootstrap), group_id=None,
                                      enable_auto_commit=False, auto_offset_reset="earliest")
        deadline = time.monotonic() + 30
        while not (partitions := self.consumer.partitions_for_topic(topic)) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)

    def poll(self, timeout_ms: int = 100) -> int:
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        records = [ConsumedRecord(r.topic, r.partition, r.offset, r.value) for rs in batches.values() for r in rs]
        if not records:
            return 0
        with self.engine.begin() as conn:
            return self.applier.apply(conn, records).applied

    def catch_up(self, seconds: float = 60) -> None:
        ends = {(tp.topic, tp.partition): end for tp, end in self.consumer.end_offsets(self.partitions).items()}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll()
            with self.engine.connect() as conn:
                stored = self.applier.stored_offsets(conn)
            if all(stored.get(key, 0) >= end for key, end in ends.items()):
                return
        raise AssertionError(f"the projection did not reach {ends}")

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def lagging(engine, settings, producer, topic):
    """Formation's app whose upstream projection is group ``group`` on the scratch topic, and that projection."""
    group = f"formation.upstream.lag-{uuid.uuid4().hex[:8]}"
    projection = Projection(engine, settings, producer, group, topic)
    with TestClient(formation_app(group, (topic,))) as client:
        yield client, projection
        client.app.state.formation.commands.upstream.close()
    projection.close()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM formation.consumer_offsets WHERE group_id = :g"), {"g": group})


def _publish(producer, topic: str, *envelopes) -> None:
    for envelope in envelopes:
        producer.send(topic, key=envelope.stream_id.encode(), value=envelope.canonical_bytes()).get(timeout=30)


def _standalone(client, headers, entity_id):
    return client.post("/organizations", json={"mode": "standalone", "name": "单独支部", "entity_ids": [entity_id],
                                               "formed_on": "2016-09-01"}, headers=headers)


def test_member_count_refusal_during_lag_is_409_then_decided_on_the_new_count(lagging, producer, topic, city,
                                                                               make_entity):
    client, projection = lagging
    entity = make_entity(0, members=2)  # membership counts 2 formal members (projected)
    _publish(producer, topic, member_registered(entity))  # the third is on the topic, not yet projected
    started = time.monotonic()
    behind = _standalone(client, city, entity)
    assert behind.status_code == 409, behind.text
    body = behind.json()
    assert body["error"] == "projection_behind" and "rule" not in body
    assert behind.headers["Retry-After"] == "1" and time.monotonic() - started >= 0.25  # it looked for progress
    assert body["details"] == [{"topic": topic, "events_behind": 1}] and "R3" in body["message"]
    projection.catch_up()
    formed = _standalone(client, city, entity)
    assert formed.status_code == 201, formed.text


def test_a_refusal_with_the_projection_caught_up_is_the_rule_refusal(lagging, city, make_entity):
    client, projection = lagging
    projection.catch_up()  # the scratch topic is empty: nothing to wait for
    entity = make_entity(0, members=1)
    refused = _standalone(client, city, entity)
    assert refused.status_code == 422 and refused.json()["rule"] == "R3"


def test_an_entity_registry_has_not_reached_formation_yet_is_409(lagging, producer, topic, city):
    client, projection = lagging
    entity = f"entity-{uuid.uuid4()}"
    _publish(producer, topic, entity_registered(entity))
    body = {"name": "王五", "role": "instructor", "entity_ids": [entity], "assigned_on": "2016-10-01"}
    behind = client.post("/work-coverage/instructors", json=body, headers=city)
    assert behind.status_code == 409 and behind.json()["error"] == "projection_behind", behind.text
    assert behind.headers["Retry-After"] == "1"
    projection.catch_up()
    assigned = client.post("/work-coverage/instructors", json=body, headers=city)
    assert assigned.status_code == 201, assigned.text
    unknown = client.post("/work-coverage/instructors", json=body | {"entity_ids": [f"entity-{uuid.uuid4()}"]},
                          headers=city)
    assert unknown.status_code == 422 and unknown.json()["rule"] == "registry"  # caught up: it does not exist


def test_a_refusal_made_while_the_projection_catches_up_is_decided_again(lagging, producer, topic, city,
                                                                          make_entity):
    """The projection runs beside the request; the first decision may see 2 members (a refusal), the projection
    reaches the topic's end within the wait, and the decision made then forms the organization. The wait is made
    generous here so that a busy machine cannot turn it into a 409."""
    client, projection = lagging
    commands = client.app.state.formation.commands
    commands.lag_wait_seconds = commands.lag_stall_seconds = 30
    entity = make_entity(0, members=2)
    _publish(producer, topic, member_registered(entity))
    stop = threading.Event()

    def consume():
        stop.wait(0.2)  # after the request has started deciding
        while not stop.is_set():
            projection.poll()

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    try:
        formed = _standalone(client, city, entity)
    finally:
        stop.set()
        worker.join(10)
    assert formed.status_code == 201, formed.text
