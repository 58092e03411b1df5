"""While formation's projection lags behind the upstream topics, a refusal on projected facts is a 409
``projection_behind`` with Retry-After, not a rule refusal; once it caught up the command is decided on
the new facts (real Kafka topic, real projection consumer, real PostgreSQL)."""

import time
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from kafka import TopicPartition

from formation.adapters.tables import tables
from formation.handlers.projections import upstream_projection
from formation_support import UPSTREAM_TYPES, entity_registered, formation_app, member_registered
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer


@pytest.fixture
def lagging(engine, topic):
    """Formation's app whose upstream projection is group ``group`` on the scratch topic."""
    group = f"formation.upstream.lag-{uuid.uuid4().hex[:8]}"
    with TestClient(formation_app(group, (topic,))) as client:
        yield client, group
        client.app.state.formation.commands.upstream.close()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM formation.consumer_offsets WHERE group_id = :g"), {"g": group})


def _publish(producer, topic: str, *envelopes) -> None:
    for envelope in envelopes:
        producer.send(topic, key=envelope.stream_id.encode(), value=envelope.canonical_bytes()).get(timeout=30)


def _catch_up(engine, settings, producer, group: str, topic: str) -> None:
    """Formation's upstream projection, consuming the scratch topic as the real consumer would, until it has
    applied everything the topic holds."""
    applier = ProjectionApplier("formation", group, None, UPSTREAM_TYPES, DeadLetterPublisher(producer),
                                batch_handler=upstream_projection(tables("formation")))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier)
    try:
        ends, deadline = {}, time.monotonic() + 60
        while time.monotonic() < deadline:
            if not ends:  # the topic's partitions, once this client's metadata holds them
                partitions = [TopicPartition(topic, p) for p in consumer.consumer.partitions_for_topic(topic) or ()]
                ends = {(tp.topic, tp.partition): end for tp, end in consumer.consumer.end_offsets(partitions).items()}
            consumer.poll_once(timeout_ms=200)
            with engine.connect() as conn:
                stored = applier.stored_offsets(conn)
            if ends and all(stored.get(key, 0) >= end for key, end in ends.items()):
                return
        raise AssertionError(f"the projection did not reach {ends} (stored {stored})")
    finally:
        consumer.consumer.close()


def _standalone(client, headers, entity_id):
    return client.post("/organizations", json={"mode": "standalone", "name": "单独支部", "entity_ids": [entity_id],
                                               "formed_on": "2016-09-01"}, headers=headers)


def test_member_count_refusal_during_lag_is_409_then_decided_on_the_new_count(
        lagging, engine, settings, producer, topic, city, make_entity):
    client, group = lagging
    entity = make_entity(0, members=2)  # membership counts 2 formal members (projected)
    _publish(producer, topic, member_registered(entity))  # the third is on the topic, not yet projected
    started = time.monotonic()
    behind = _standalone(client, city, entity)
    assert behind.status_code == 409, behind.text
    body = behind.json()
    assert body["error"] == "projection_behind" and "rule" not in body
    assert behind.headers["Retry-After"] == "1" and time.monotonic() - started >= 0.25  # it looked for progress
    assert body["details"] == [{"topic": topic, "events_behind": 1}] and "R3" in body["message"]
    _catch_up(engine, settings, producer, group, topic)
    formed = _standalone(client, city, entity)
    assert formed.status_code == 201, formed.text


def test_a_refusal_with_the_projection_caught_up_is_the_rule_refusal(lagging, city, make_entity):
    client, _ = lagging
    entity = make_entity(0, members=1)
    started = time.monotonic()
    refused = _standalone(client, city, entity)
    assert refused.status_code == 422 and refused.json()["rule"] == "R3"
    assert time.monotonic() - started < 0.9  # nothing to wait for


def test_an_entity_registry_has_not_reached_formation_yet_is_409(lagging, engine, settings, producer, topic, city):
    client, group = lagging
    entity = f"entity-{uuid.uuid4()}"
    _publish(producer, topic, entity_registered(entity))
    body = {"name": "王五", "role": "instructor", "entity_ids": [entity], "assigned_on": "2016-10-01"}
    behind = client.post("/work-coverage/instructors", json=body, headers=city)
    assert behind.status_code == 409 and behind.json()["error"] == "projection_behind", behind.text
    assert behind.headers["Retry-After"] == "1"
    _catch_up(engine, settings, producer, group, topic)
    assigned = client.post("/work-coverage/instructors", json=body, headers=city)
    assert assigned.status_code == 201, assigned.text
    unknown = client.post("/work-coverage/instructors", json=body | {"entity_ids": [f"entity-{uuid.uuid4()}"]},
                          headers=city)
    assert unknown.status_code == 422 and unknown.json()["rule"] == "registry"  # caught up: it does not exist


def test_a_refusal_made_while_a_running_consumer_catches_up_is_decided_again(
        lagging, engine, settings, producer, topic, city, make_entity):
    """The consumer runs (slowly: it polls every 150 ms); the first decision sees 2 members and would refuse,
    the projection reaches the topic's end within the wait, and the second decision forms the organization."""
    import threading

    client, group = lagging
    entity = make_entity(0, members=2)
    applier = ProjectionApplier("formation", group, None, UPSTREAM_TYPES, DeadLetterPublisher(producer),
                                batch_handler=upstream_projection(tables("formation")))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier)
    deadline = time.monotonic() + 30
    while not consumer.consumer.assignment() and time.monotonic() < deadline:
        consumer.poll_once(timeout_ms=200)  # join the group: partitions assigned, at the (empty) topic's end
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            stop.wait(0.15)
            consumer.poll_once(timeout_ms=50)

    _publish(producer, topic, member_registered(entity))
    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    try:
        formed = _standalone(client, city, entity)
    finally:
        stop.set()
        worker.join(5)
        consumer.consumer.close()
    assert formed.status_code == 201, formed.text
