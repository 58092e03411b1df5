"""Kafka message sizes (issue "Bad input and operations", item 3), on the real broker and database.

A record just under the broker's limit is dead-lettered as a copy cut to fit the producer's
max_request_size, with the reason and the original's size and SHA-256 in its headers. A record the broker
will not take even so (a dead-letter topic with a lower limit) is recorded in PostgreSQL, skipped, and
counted in campaign_dead_letters_undelivered_total; the consumer goes on past it. Payloads are capped well
below the broker's limit."""

import hashlib
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from pydantic import ValidationError

from hardening_apps import drop, prepare, scratch_context
from kafka_scratch import poll_until, scratch_topic
from platform_core.kafka_io import MAX_REQUEST_SIZE, DeadLetterPublisher, create_producer, kafka_options
from platform_core.metrics import DEAD_LETTERS_UNDELIVERED
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.settings import PlatformSettings
from test_hardening_dead_letters import assert_applied, dead_letters_of, spec_for

pytestmark = pytest.mark.integration


@contextmanager
def formation_upstream(settings, topic: str, dead_letter_topic: str | None = None):
    """formation's upstream projection on a scratch schema, reading ``topic``, driven by poll_once."""
    context = scratch_context("formation")
    prepare("formation", context)
    producer = create_producer(settings.kafka_bootstrap, "hardening-sizes")
    try:
        spec, good = spec_for("formation.upstream", context.schema)
        group = f"{spec.group_id}.hardening-{uuid.uuid4().hex[:8]}"
        publisher = DeadLetterPublisher(producer, *([dead_letter_topic] if dead_letter_topic else []))
        applier = ProjectionApplier(context.schema, group, spec.handler, spec.registry, publisher,
                                    batch_handler=spec.batch_handler)
        yield context, producer, applier, good
    finally:
        producer.close()
        drop(context)


def drive(settings, context, applier, topic: str, expected: int) -> tuple[int, int]:
    """(applied, dead-lettered) once ``expected`` records are handled (or a minute has passed)."""
    return poll_until(ProjectionConsumer(context.engine, settings.kafka_bootstrap, [topic], applier), expected, 60)


def test_a_record_just_under_the_broker_limit_is_dead_lettered_cut_with_its_hash(settings):
    with scratch_topic(settings.kafka_bootstrap, "hardening", partitions=1) as topic, \
            formation_upstream(settings, topic) as (context, producer, applier, good):
        huge = b"\xff" + b"x" * (MAX_REQUEST_SIZE - 256)  # not JSON, just under the limit: a copy with headers is not
        producer.send(topic, key=b"bad", value=huge).get(timeout=60)
        producer.send(topic, key=good.stream_id.encode(), value=good.canonical_bytes()).get(timeout=60)
        assert drive(settings, context, applier, topic, 2) == (1, 1)
        (letter,) = dead_letters_of(settings.kafka_bootstrap, topic, 1)
        headers = dict(letter.headers)
        assert headers["dlq.reason"].startswith(b"unreadable: malformed event envelope")
        assert headers["dlq.original_sha256"] == hashlib.sha256(huge).hexdigest().encode()
        assert headers["dlq.original_size"] == str(len(huge)).encode()
        assert b"max_request_size" in headers["dlq.truncated"]
        assert huge.startswith(letter.value) and len(letter.value) < len(huge)
        size = len(letter.key) + len(letter.value) + sum(len(k) + len(v) for k, v in letter.headers)
        assert size <= MAX_REQUEST_SIZE
        assert_applied("formation.upstream", context, good)


def test_a_record_that_cannot_be_dead_lettered_is_recorded_skipped_and_counted(settings):
    dead_letter_topic = f"hardening.dlq.{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(dead_letter_topic, num_partitions=1, replication_factor=1,
                                  topic_configs={"max.message.bytes": "2048"})])  # below any copy of the record
    try:
        with scratch_topic(settings.kafka_bootstrap, "hardening", partitions=1) as topic, \
                formation_upstream(settings, topic, dead_letter_topic) as (context, producer, applier, good):
            bad = b"\xff" + b"y" * 10_000
            producer.send(topic, key=b"bad", value=bad).get(timeout=60)
            producer.send(topic, key=good.stream_id.encode(), value=good.canonical_bytes()).get(timeout=60)
            counted = DEAD_LETTERS_UNDELIVERED.labels(group=applier.group_id)._value.get()
            assert drive(settings, context, applier, topic, 2) == (1, 1)  # no rewind, no retry: past it
            with context.engine.connect() as conn:
                rows = conn.execute(sa.text(
                    f'SELECT topic, partition, "offset", reason, value_size, value_sha256, error'
                    f' FROM "{context.schema}".undelivered_dead_letters')).all()
                offsets = applier.stored_offsets(conn)
            assert [(r.topic, r.partition, r.offset, r.value_size, r.value_sha256) for r in rows] == [
                (topic, 0, 0, len(bad), hashlib.sha256(bad).hexdigest())]
            assert rows[0].reason.startswith("unreadable: ") and "MessageSizeTooLarge" in rows[0].error
            assert offsets == {(topic, 0): 2}
            assert DEAD_LETTERS_UNDELIVERED.labels(group=applier.group_id)._value.get() == counted + 1
            assert_applied("formation.upstream", context, good)
    finally:
        admin.delete_topics([dead_letter_topic])
        admin.close()


def test_payloads_are_capped_well_below_the_broker_limit():
    assert PlatformSettings().max_payload_bytes <= MAX_REQUEST_SIZE // 4
    with pytest.raises(ValidationError):
        PlatformSettings(max_payload_bytes=MAX_REQUEST_SIZE // 2)
