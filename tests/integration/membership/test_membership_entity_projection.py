"""Membership's projections of registry.events and formation.events, through a real Kafka consumer group."""

import uuid

import sqlalchemy as sa

from kafka_scratch import poll_until
from membership.bootstrap import build_context, build_projections
from membership_support import entity_registered, formation_event, organization_formed
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer


def test_specs_read_registry_and_formation_events_without_their_contracts():
    entities, organizations, _intake = build_projections(build_context())
    assert entities.topics == ("registry.events",) and entities.registry is None
    assert organizations.topics == ("formation.events",) and organizations.registry is None
    assert entities.group_id != organizations.group_id


def consume(engine, settings, topic, producer, handler, expected: int) -> tuple[int, int]:
    applier = ProjectionApplier("membership", f"membership.test-{uuid.uuid4().hex[:8]}", handler, None,
                                DeadLetterPublisher(producer))
    return poll_until(ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier), expected)


def test_organizations_arrive_from_kafka_and_bad_ones_are_dead_lettered(engine, settings, topic, producer):
    _, spec, _intake = build_projections(build_context())
    joint, single, bad = (f"organization-{uuid.uuid4()}" for _ in range(3))
    e1, e2, e3 = (f"entity-{uuid.uuid4()}" for _ in range(3))
    envelopes = [organization_formed(joint, [e1, e2], "joint"), organization_formed(single, [e3]),
                 formation_event("OrganizationRestructured", joint, {"mode": "joint", "entity_ids": [e1],
                                                                     "remaining_entity_ids": [e2]}),
                 formation_event("OrganizationDissolved", single, {"mode": "standalone", "entity_ids": [e3]}),
                 formation_event("InstructorAssigned", joint, {"entity_ids": [e2]}),  # not needed: skipped
                 organization_formed(bad, ["not-an-entity"])]
    for envelope in envelopes:
        producer.send(topic, key=envelope.stream_id.encode(), value=envelope.canonical_bytes())
    producer.flush()
    assert consume(engine, settings, topic, producer, spec.handler, len(envelopes)) == (5, 1)
    with engine.connect() as conn:
        rows = {r.organization_id: (r.mode, sorted(r.entity_ids), r.active) for r in conn.execute(sa.text(
            "SELECT organization_id, mode, entity_ids, active FROM membership.known_organizations"
            " WHERE organization_id IN (:a, :b, :c)"), {"a": joint, "b": single, "c": bad})}
    assert rows == {joint: ("joint", [e2], True), single: ("standalone", [e3], False)}


def test_entity_locations_arrive_from_kafka_and_bad_ones_are_dead_lettered(engine, settings, topic, producer):
    spec, _, _intake = build_projections(build_context())
    good, moved = f"entity-{uuid.uuid4()}", f"entity-{uuid.uuid4()}"
    bad = entity_registered(f"entity-{uuid.uuid4()}", "420102")
    bad = bad.model_copy(update={"payload": {**bad.payload, "district_code": "4201"}})
    registered = entity_registered(good, "420102")
    other = entity_registered(good, "420102").model_copy(update={"type": "EntityProfileUpdated",
                                                                 "event_id": uuid.uuid4()})  # the stream's next version
    for envelope in (registered, entity_registered(moved, "420103"), bad, other):
        producer.send(topic, key=envelope.stream_id.encode(), value=envelope.canonical_bytes())
    producer.flush()
    assert consume(engine, settings, topic, producer, spec.handler, 4) == (3, 1)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT entity_id, district_code FROM membership.known_entities WHERE entity_id IN (:a, :b, :c)"),
            {"a": good, "b": moved, "c": bad.payload["entity_id"]}).all())
    assert rows == {good: "420102", moved: "420103"}
