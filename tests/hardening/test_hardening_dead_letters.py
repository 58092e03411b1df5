"""Malformed messages on every event topic, for every consumer that reads it: each lands on the
dead-letter topic with its reason, topic, partition and offset, and the good event after it is applied.

Each consumer runs its real handler (from the service's bootstrap) on a scratch topic, schema and
consumer group, driven synchronously with ProjectionConsumer.poll_once, the driver every projection
runs on (`campaign consume SERVICE`)."""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from hardening_apps import drop, prepare, scratch_context
from kafka_scratch import scratch_topic
from platform_core.contracts import event_types_for
from platform_core.envelope import Actor, EventEnvelope
from platform_core.kafka_io import DEAD_LETTER_TOPIC, DeadLetterPublisher, create_producer, kafka_options
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer, ProjectionSpec
from stream_versions import next_version

pytestmark = pytest.mark.integration


def envelope(type_: str, stream_id: str, payload: dict) -> EventEnvelope:
    now = datetime.now(timezone.utc)
    return EventEnvelope(event_id=uuid.uuid4(), type=type_, schema_version=1, stream_id=stream_id,
                         stream_version=next_version(stream_id),
                         occurred_at=now, recorded_at=now, actor=Actor(department="city_org", user="hardening"),
                         payload=payload)


def entity_registered() -> EventEnvelope:
    entity_id = f"entity-{uuid.uuid4()}"
    return envelope("EntityRegistered", entity_id, {
        "entity_id": entity_id, "uscc": "91420102MA4KX0000X", "name": "某某科技有限公司", "kind": "non_public_enterprise",
        "subtype": "私营企业", "district_code": "420102", "street_code": "420102001", "industry": "软件",
        "employees": 12, "formal_members": 3, "probationary_members": 0, "operation_status": "operating",
        "party_organization": "none", "person_in_charge": "张三"})


def checkpoint_signed() -> EventEnvelope:
    return envelope("CheckpointSigned", f"checkpoint-{uuid.uuid4().hex[:8]}", {
        "checkpoint_id": 1, "origin": "hardening.example/log", "tree_size": 0, "root_hash": "A" * 43 + "=",
        "signed_at": "2016-11-20T00:00:00Z", "verifier_key": "hardening+00000000+AAAA", "reason": "manual",
        "note": "hardening.example/log\n0\n" + "A" * 43 + "=\n"})


@dataclass(frozen=True)
class Bad:
    name: str
    value: bytes | None
    reason: str | tuple[str, ...]  # how the dead letter's reason starts


def bad_messages(good: EventEnvelope) -> list[Bad]:
    # events of streams of their own (a consumer that lets one through raises that stream's version, not the
    # good event's)
    unknown = good.model_copy(update={"event_id": uuid.uuid4(), "type": "NoSuchEvent", "stream_id": f"bad-{uuid.uuid4()}"})
    violating = good.model_copy(update={"event_id": uuid.uuid4(), "stream_id": f"bad-{uuid.uuid4()}",
                                        "payload": {**good.payload, "no_such_field": 1, "entity_id": 42}})
    return [
        Bad("not json", b"\xff\xfe{not json", "unreadable: malformed event envelope"),
        Bad("json, not an envelope", b'{"hello": "world"}', "unreadable: malformed event envelope"),
        Bad("unknown type", unknown.canonical_bytes(), "unreadable: unknown event type 'NoSuchEvent'"),
        # a consumer with the contract refuses it on reading; one without it, when its handler rejects it
        Bad("payload violating its contract", violating.canonical_bytes(), ("unreadable: EntityRegistered: payload",
                                                                             "unreadable: CheckpointSigned: payload",
                                                                             "rejected: ")),
        Bad("empty value (tombstone)", None, "unreadable: empty message"),
        Bad("empty bytes", b"", "unreadable: malformed event envelope"),
    ]


def spec_for(consumer: str, schema: str) -> tuple[ProjectionSpec, EventEnvelope]:
    if consumer == "membership.known-entities":
        from membership.bootstrap import ENTITY_PROJECTION_GROUP
        from membership.handlers.entity_projection import entity_projection
        return ProjectionSpec(ENTITY_PROJECTION_GROUP, ("registry.events",), entity_projection(schema)), \
            entity_registered()
    if consumer == "formation.upstream":
        from formation.adapters.tables import tables
        from formation.handlers.projections import upstream_projection
        return ProjectionSpec("formation.upstream", ("registry.events",), registry=event_types_for(
            "registry", "membership"), batch_handler=upstream_projection(tables(schema))), entity_registered()
    if consumer == "formation.checkpoints":
        from formation.adapters.tables import tables
        from formation.handlers.projections import checkpoint_projection
        return ProjectionSpec("formation.checkpoints", ("reporting.events",), registry=event_types_for(
            "reporting"), batch_handler=checkpoint_projection(tables(schema))), checkpoint_signed()
    if consumer == "reporting.projections":
        from reporting.adapters.projection_store import PROJECTION_GROUP
        from reporting.handlers.projection import projection_handler
        return ProjectionSpec(PROJECTION_GROUP, ("registry.events",), registry=event_types_for(
            "registry", "membership", "formation", "reporting"), batch_handler=projection_handler(schema)), \
            entity_registered()
    if consumer == "reporting.audit-log":
        from reporting.audit.processor import audit_projection
        return audit_projection(schema, topics=("registry.events",)), entity_registered()
    raise ValueError(consumer)


# consumer -> (service whose schema it writes, the bad messages it lets through on purpose)
CONSUMERS = {
    # reads only EntityRegistered's location keys, without the registry contract: an unknown type is ignored
    "membership.known-entities": ("membership", {"unknown type"}),
    "formation.upstream": ("formation", set()),
    "formation.checkpoints": ("formation", set()),
    "reporting.projections": ("reporting", set()),
    # the audit log keeps every event as published, whatever its type or payload (no upcasting)
    "reporting.audit-log": ("reporting", {"unknown type", "payload violating its contract"}),
}


def dead_letters_of(bootstrap: str, topic: str, expected: int, timeout_s: float = 30) -> list:
    reader = KafkaConsumer(**kafka_options(bootstrap), enable_auto_commit=False, consumer_timeout_ms=1000)
    partitions = [TopicPartition(DEAD_LETTER_TOPIC, p) for p in reader.partitions_for_topic(DEAD_LETTER_TOPIC)]
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    found, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(found) < expected:
        for batch in reader.poll(timeout_ms=500).values():
            found.extend(r for r in batch if dict(r.headers).get("dlq.topic") == topic.encode())
    reader.close()
    return found


@pytest.fixture
def hardening_topic(settings):
    with scratch_topic(settings.kafka_bootstrap, "hardening", partitions=1) as name:
        yield name


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_bad_messages_are_dead_lettered_and_the_good_one_after_them_applied(consumer, settings, hardening_topic):
    service, let_through = CONSUMERS[consumer]
    context = scratch_context(service)
    prepare(service, context)
    producer = create_producer(settings.kafka_bootstrap, "hardening-dlq")
    try:
        spec, good = spec_for(consumer, context.schema)
        bads = bad_messages(good)
        for bad in bads:
            producer.send(hardening_topic, key=b"bad", value=bad.value)
        producer.send(hardening_topic, key=good.stream_id.encode(), value=good.canonical_bytes())
        producer.flush()
        group = f"{spec.group_id}.hardening-{uuid.uuid4().hex[:8]}"
        applier = ProjectionApplier(context.schema, group, spec.handler, spec.registry, DeadLetterPublisher(producer),
                                    batch_handler=spec.batch_handler, dedupe=spec.dedupe)
        polled = ProjectionConsumer(context.engine, settings.kafka_bootstrap, [hardening_topic], applier)
        applied = dead = 0
        deadline = time.monotonic() + 30
        try:
            while applied + dead < len(bads) + 1 and time.monotonic() < deadline:
                outcome = polled.poll_once(timeout_ms=500)
                applied, dead = applied + outcome.applied, dead + outcome.dead_lettered
        finally:
            polled.consumer.close()
        expected_dead = [(offset, bad) for offset, bad in enumerate(bads) if bad.name not in let_through]
        assert (applied, dead) == (len(bads) + 1 - len(expected_dead), len(expected_dead))

        letters = {int(dict(r.headers)["dlq.offset"]): r for r in
                   dead_letters_of(settings.kafka_bootstrap, hardening_topic, len(expected_dead))}
        assert sorted(letters) == [offset for offset, _ in expected_dead]
        for offset, bad in expected_dead:
            headers = dict(letters[offset].headers)
            assert headers["dlq.group"] == group.encode() and headers["dlq.partition"] == b"0", bad.name
            assert headers["dlq.reason"].decode().startswith(bad.reason), (bad.name, headers["dlq.reason"])
            if bad.value is not None:
                assert letters[offset].value == bad.value, bad.name
        assert_applied(consumer, context, good)
        with context.engine.connect() as conn:  # processing went on past them: the offset is after the good one
            stored = applier.stored_offsets(conn)
        assert stored == {(hardening_topic, 0): len(bads) + 1}
    finally:
        producer.close()
        drop(context)


def assert_applied(consumer: str, context, good: EventEnvelope) -> None:
    s = context.schema
    query = {
        "membership.known-entities": f'SELECT count(*) FROM "{s}".known_entities WHERE entity_id = :id',
        "formation.upstream": f'SELECT count(*) FROM "{s}".known_entities WHERE entity_id = :id',
        "formation.checkpoints": f'SELECT count(*) FROM "{s}".audit_checkpoints',
        "reporting.projections": f'SELECT count(*) FROM "{s}".rp_entity_status WHERE entity_id = :id',
        "reporting.audit-log": f'SELECT count(*) FROM "{s}".audit_log WHERE event_id = CAST(:event AS uuid)',
    }[consumer]
    with context.engine.connect() as conn:
        count = conn.execute(sa.text(query), {"id": good.stream_id, "event": str(good.event_id)}).scalar_one()
    assert count == 1, consumer


def test_a_replay_skips_unusable_records_without_dead_lettering_them_again(settings, hardening_topic):
    """The live projection dead-letters an unusable record once; replays and as-of builds read the same
    records again and again, and each used to add another copy of each to the dead-letter topic."""
    from reporting.adapters.replay import replay_into

    context = scratch_context("reporting")
    prepare("reporting", context)
    producer = create_producer(settings.kafka_bootstrap, "hardening-replay")
    try:
        good = entity_registered()
        bads = bad_messages(good)
        for bad in bads:
            producer.send(hardening_topic, key=b"hardening", value=bad.value)
        producer.send(hardening_topic, value=good.canonical_bytes())
        producer.flush()
        for _ in range(2):
            outcome = replay_into(context.engine, settings.kafka_bootstrap, context.schema,
                                  event_types_for("registry", "membership", "formation", "reporting"),
                                  topics=(hardening_topic,))
            assert (outcome.applied, outcome.unusable) == (1, len(bads))
        assert_applied("reporting.projections", context, good)
        assert dead_letters_of(settings.kafka_bootstrap, hardening_topic, 1, timeout_s=5) == []
    finally:
        producer.close()
        drop(context)
