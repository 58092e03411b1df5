"""Regression found by the fault suite: when PostgreSQL died under a projection consumer, the failed
batch's events were skipped for good. poll_once went back to the *stored* offsets after a failed
batch, but reading them needs the database that had just failed; that seek raised, the consumer's
position stayed past the batch, and the next batch stored offsets beyond it (the audit log missed
~300 membership events). Now the consumer rewinds to the batch's first records, without the database.

Here the database "fails" for one batch (the handler raises OperationalError) and reading the stored
offsets fails too (the consumer's engine points nowhere meanwhile): every event must still be applied.
"""

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from platform_core.db import create_db_engine, migrate
from platform_core.envelope import Actor, EventEnvelope
from platform_core.kafka_io import DeadLetterPublisher, create_producer, kafka_options
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.settings import get_settings

pytestmark = pytest.mark.integration


def test_a_batch_failed_with_the_database_down_is_applied_after_it_returns():
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=2)
    schema, topic, group = f"t_rw_{uuid.uuid4().hex[:10]}", f"test.rewind.{uuid.uuid4().hex[:10]}", f"g-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    producer = create_producer(settings.kafka_bootstrap, "rewind-test")
    migrate(engine, schema)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {schema}.seen (event_id UUID PRIMARY KEY)"))
    now = datetime.now(timezone.utc)
    ids = [uuid.uuid4() for _ in range(60)]
    for n, event_id in enumerate(ids):
        envelope = EventEnvelope(event_id=event_id, type="Tick", schema_version=1, stream_id="tick-1",
                                 stream_version=n + 1, occurred_at=now, recorded_at=now,
                                 actor=Actor(department="test", user="t"), payload={"n": n})
        producer.send(topic, key=b"tick-1", value=envelope.canonical_bytes())
    producer.flush()
    failures = {"left": 1}

    def handler(conn, envelopes):
        if failures["left"]:
            failures["left"] -= 1
            consumer.engine = create_db_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", pool_size=1)
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        conn.execute(sa.text(f"INSERT INTO {schema}.seen VALUES (CAST(:e AS uuid))"),
                     [{"e": str(e.event_id)} for e in envelopes])

    applier = ProjectionApplier(schema, group, None, None, DeadLetterPublisher(producer), batch_handler=handler)
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier, max_records=20)
    try:
        for _ in range(60):
            try:
                consumer.poll_once(timeout_ms=500)
            except sa.exc.OperationalError:
                consumer.engine = engine  # the database is back
            with engine.connect() as conn:
                if conn.execute(sa.text(f"SELECT count(*) FROM {schema}.seen")).scalar_one() == len(ids):
                    break
        assert failures["left"] == 0, "the batch never failed: the test did not test anything"
        with engine.connect() as conn:
            seen = {r[0] for r in conn.execute(sa.text(f"SELECT event_id FROM {schema}.seen"))}
            offset = conn.execute(sa.text(f"SELECT next_offset FROM {schema}.consumer_offsets WHERE group_id = :g"),
                                  {"g": group}).scalar_one()
        assert seen == set(ids)
        assert offset == len(ids)
    finally:
        consumer.consumer.close()
        producer.close(timeout=10)
        admin.delete_topics([topic])
        admin.close()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
