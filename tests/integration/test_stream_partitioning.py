"""The partitioning key and the ordering guarantee the projections rest on, on the real broker: the relay
keys each record by its stream id, so all events of a stream land on one partition in version order,
and a consumer group of two members hands each stream's events to its projection in that order (the
stream version guard, docs/architecture.md "Partitioning and order", is exact only so)."""

import threading
import time
import uuid

import sqlalchemy as sa
from kafka import KafkaConsumer

from platform_core.envelope import Actor, EventEnvelope
from platform_core.events import NewEvent
from platform_core.kafka_io import DeadLetterPublisher, create_producer, kafka_options
from platform_core.outbox_relay import OutboxRelay
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer

ACTOR = Actor(department="city:task-force", user="operator")
STREAMS, VERSIONS = 12, 8


def append_interleaved(store) -> None:
    """Version v of every stream before version v+1 of any: the streams' events interleave in the outbox."""
    for v in range(VERSIONS):
        for s in range(STREAMS):
            store.append(f"entity-{s}", v, [NewEvent("EntityProfileUpdated", {"employees": v})], ACTOR)


def publish(engine, schema, settings) -> None:
    producer = create_producer(settings.kafka_bootstrap, "order-relay")
    try:
        relay = OutboxRelay(engine, schema, producer, batch_size=10)  # several batches
        while relay.publish_batch():
            pass
    finally:
        producer.close()


def test_a_streams_events_land_on_one_partition_in_version_order(store, engine, schema, topic, settings):
    append_interleaved(store)
    publish(engine, schema, settings)
    consumer = KafkaConsumer(topic, **kafka_options(settings.kafka_bootstrap), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=3000)
    by_stream: dict[str, list[tuple[int, int, int]]] = {}
    for record in consumer:
        envelope = EventEnvelope.from_bytes(record.value)
        assert record.key == envelope.stream_id.encode()  # the partitioning key is the stream id
        by_stream.setdefault(envelope.stream_id, []).append((record.partition, record.offset, envelope.stream_version))
    consumer.close()
    assert len(by_stream) == STREAMS
    partitions_used = set()
    for stream, placed in by_stream.items():
        assert len({partition for partition, _, _ in placed}) == 1, f"{stream} spans partitions: {placed}"
        partitions_used.add(placed[0][0])
        assert [version for _, _, version in sorted(placed)] == list(range(1, VERSIONS + 1)), stream
    assert len(partitions_used) > 1  # the streams do spread over the topic's partitions


def test_a_group_of_two_members_applies_each_streams_events_in_version_order(store, engine, schema, topic, settings):
    table, group = f"{schema}.seen_{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (member int, stream_id text, version int, seq bigserial)"))

    def recorder(member: int):
        def apply(conn, envelopes):
            conn.execute(sa.text(f"INSERT INTO {table} (member, stream_id, version)"
                                 " SELECT :m, s, v FROM unnest(CAST(:s AS text[]), CAST(:v AS int[])) AS b(s, v)"),
                         {"m": member, "s": [e.stream_id for e in envelopes], "v": [e.stream_version for e in envelopes]})
        return apply

    producer = create_producer(settings.kafka_bootstrap, "order-dlq")
    members = [ProjectionConsumer(engine, settings.kafka_bootstrap, [topic],
                                  ProjectionApplier(schema, group, None, None, DeadLetterPublisher(producer),
                                                    batch_handler=recorder(m)), max_records=5)
               for m in range(2)]
    stop, total = threading.Event(), STREAMS * VERSIONS

    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()

    threads = [threading.Thread(target=member.run, args=(stop,), daemon=True) for member in members]
    try:
        for thread in threads:
            thread.start()
        # both members hold partitions before the events exist, so both take part
        deadline = time.monotonic() + 60
        while not all(member.consumer.assignment() for member in members) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sum(len(member.consumer.assignment()) for member in members) == 3, "the group did not settle"
        append_interleaved(store)
        publish(engine, schema, settings)
        while count() < total and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        producer.close()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT member, stream_id, version FROM {table} ORDER BY seq")).all()
    assert len(rows) == total  # each event once
    assert {row.member for row in rows} == {0, 1}  # both members applied some streams
    for s in range(STREAMS):
        assert [row.version for row in rows if row.stream_id == f"entity-{s}"] == list(range(1, VERSIONS + 1))
