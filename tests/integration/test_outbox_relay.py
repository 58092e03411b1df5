"""append -> outbox -> Kafka: byte-identical envelopes, at least once across a SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from platform_core.envelope import Actor, EventEnvelope
from platform_core.events import NewEvent
from platform_core.kafka_io import create_producer
from platform_core.outbox_relay import OutboxRelay
from support import read_topic

ACTOR = Actor(department="city:task-force", user="operator")


def append_many(store, streams: int, per_stream: int) -> list[EventEnvelope]:
    appended = []
    for s in range(streams):
        for v in range(per_stream):
            result = store.append(f"entity-{s}", v, [NewEvent("EntityProfileUpdated", {"employees": v})], ACTOR)
            appended.extend(result.events)
    return appended


def unpublished(engine, schema) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")).scalar_one()


def test_published_envelope_is_byte_identical_and_keyed_by_stream(store, engine, schema, topic, settings):
    appended = append_many(store, streams=3, per_stream=4)
    producer = create_producer(settings.kafka_bootstrap, "test-relay")
    try:
        relay = OutboxRelay(engine, schema, producer)
        assert relay.publish_batch() == 12
        assert relay.publish_batch() == 0
    finally:
        producer.close()
    assert unpublished(engine, schema) == 0
    records = read_topic(settings.kafka_bootstrap, topic, expected=12)
    by_id = {e.event_id: e for e in appended}
    assert len(records) == 12
    for record in records:
        envelope = EventEnvelope.from_bytes(record.value)
        assert record.value == by_id[envelope.event_id].canonical_bytes()
        assert record.key == envelope.stream_id.encode()
    # per stream, Kafka keeps the versions in order (one partition per key)
    for stream in ("entity-0", "entity-1", "entity-2"):
        versions = [EventEnvelope.from_bytes(r.value).stream_version for r in records
                    if r.key == stream.encode()]
        assert versions == [1, 2, 3, 4]


CRASHING_RELAY = textwrap.dedent("""
    import os, signal, sys
    from platform_core.db import create_db_engine
    from platform_core.kafka_io import create_producer
    from platform_core.outbox_relay import OutboxRelay

    class CrashBeforeMarking(OutboxRelay):
        def _mark_published(self, conn, ids):
            os.kill(os.getpid(), signal.SIGKILL)  # Kafka has the batch; the rows are not marked

    url, bootstrap, schema = sys.argv[1:4]
    relay = CrashBeforeMarking(create_db_engine(url), schema, create_producer(bootstrap, "crashing-relay"),
                               batch_size=25)
    relay.publish_batch()
""")


def test_relay_killed_between_publishing_and_marking_loses_nothing(store, engine, schema, topic, settings):
    appended = append_many(store, streams=5, per_stream=10)
    crashed = subprocess.run([sys.executable, "-c", CRASHING_RELAY, settings.database_url,
                              settings.kafka_bootstrap, schema], capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    assert unpublished(engine, schema) == 50  # the killed transaction marked nothing

    producer = create_producer(settings.kafka_bootstrap, "restarted-relay")
    try:
        relay = OutboxRelay(engine, schema, producer)
        while relay.publish_batch():
            pass
    finally:
        producer.close()
    assert unpublished(engine, schema) == 0
    records = read_topic(settings.kafka_bootstrap, topic, expected=75)
    published_ids = [EventEnvelope.from_bytes(r.value).event_id for r in records]
    assert {e.event_id for e in appended} == set(published_ids)  # every event, at least once
    assert len(published_ids) == 75  # the 25 of the crashed batch went out twice


def test_relay_process_publishes_new_appends_promptly(store, engine, schema, topic, settings):
    env = {**os.environ, "CAMPAIGN_DATABASE_URL": settings.database_url,
           "CAMPAIGN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    # the relay CLI only knows the real services; run the same loop on the test schema
    script = textwrap.dedent("""
        import signal, sys, threading
        from platform_core.db import create_db_engine
        from platform_core.kafka_io import create_producer
        from platform_core.outbox_relay import OutboxRelay
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        url, bootstrap, schema = sys.argv[1:4]
        producer = create_producer(bootstrap, "loop-relay")
        OutboxRelay(create_db_engine(url), schema, producer).run(stop)
        producer.close()
    """)
    relay = subprocess.Popen([sys.executable, "-c", script, settings.database_url, settings.kafka_bootstrap,
                              schema], env=env)
    try:
        appended = append_many(store, streams=2, per_stream=5)
        records = read_topic(settings.kafka_bootstrap, topic, expected=10, timeout_s=30)
        assert {EventEnvelope.from_bytes(r.value).event_id for r in records} == {e.event_id for e in appended}
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=30) == 0


def test_published_events_are_cloudevents_in_binary_mode(store, engine, schema, topic, settings):
    """Any CloudEvents consumer reads them (docs/events.md): ce_* headers from the envelope, the value the
    canonical bytes unchanged."""
    from platform_core.intake.cloudevents import decode

    appended = append_many(store, streams=1, per_stream=2)
    producer = create_producer(settings.kafka_bootstrap, "test-relay")
    try:
        assert OutboxRelay(engine, schema, producer).publish_batch() == 2
    finally:
        producer.close()
    records = read_topic(settings.kafka_bootstrap, topic, expected=2)
    by_id = {str(e.event_id): e for e in appended}
    for record in records:
        event = decode(record.headers, record.value)
        envelope = by_id[event.id]
        assert record.value == envelope.canonical_bytes()
        assert event.type == "cn.gov.wuhan.campaign.test.EntityProfileUpdated.v1"
        assert (event.source, event.subject, event.time) == ("/campaign/test", envelope.stream_id,
                                                             envelope.recorded_at)
        assert event.data == json.loads(envelope.canonical_bytes())
        assert dict(record.headers)["content-type"] == b"application/json"
