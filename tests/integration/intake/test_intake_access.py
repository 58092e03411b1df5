"""Kafka ACLs of the intake on the real broker: a department's system writes its own intake topic only, and
nothing it tried to put on another department's topic is there."""

import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from platform_core.intake.departments import load_intake_departments
from platform_core.kafka_io import kafka_options
from platform_core.local_processes import process_environment
from platform_core.settings import PlatformSettings


def login_of(process: str) -> dict:
    environment = process_environment(process)
    settings = PlatformSettings(**{key.removeprefix("CAMPAIGN_").lower(): value for key, value in environment.items()
                                   if key.startswith("CAMPAIGN_KAFKA_")})
    return kafka_options(settings=settings)


def produce(options: dict, topic: str, marker: bytes) -> str:
    producer = KafkaProducer(**options, acks="all", request_timeout_ms=5000, max_block_ms=10000, retries=0)
    try:
        producer.send(topic, key=b"k", value=marker).get(timeout=15)
        return "accepted"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        producer.close(timeout=5)


def holds(bootstrap: str, topic: str, marker: bytes) -> bool:
    consumer = KafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        seen = False
        while any(consumer.position(p) < ends[p] for p in partitions):
            for batch in consumer.poll(timeout_ms=500).values():
                seen = seen or any(record.value == marker for record in batch)
        return seen
    finally:
        consumer.close()


def test_a_department_writes_its_own_intake_topic_and_no_other(settings):
    departments = {d.name: d for d in load_intake_departments()}
    market, civil = departments["market-regulation"], departments["civil-affairs"]
    own, foreign = (f"own-{uuid.uuid4()}".encode(), f"forged-{uuid.uuid4()}".encode())
    options = login_of(market.kafka_principal)
    assert produce(options, market.topic, own) == "accepted"
    assert produce(options, civil.topic, foreign) == "TopicAuthorizationFailedError"
    assert produce(options, "registry.events", foreign) == "TopicAuthorizationFailedError"
    assert holds(settings.kafka_bootstrap, market.topic, own)
    assert not holds(settings.kafka_bootstrap, civil.topic, foreign)


def read(options: dict, topic: str) -> str:
    """Whether this login may read ``topic``: "read" (its partitions' end offsets), or the broker's refusal."""
    consumer = KafkaConsumer(**options, group_id=None, enable_auto_commit=False, request_timeout_ms=10000)
    try:
        consumer.end_offsets([TopicPartition(topic, 0)])
        return "read"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        consumer.close()


def test_a_department_reads_its_own_outcomes_and_no_others(settings):
    """Outcomes carry the answers, an entity's persons included: each department's are on a topic only its
    own principal may read (an ACL cannot tell one key of a shared topic from another)."""
    from platform_core.kafka_io import ensure_topics
    from platform_core.intake.departments import intake_topics

    departments = {d.name: d for d in load_intake_departments()}
    market, civil = departments["market-regulation"], departments["civil-affairs"]
    ensure_topics(settings.kafka_bootstrap, 3, intake_topics((market, civil)))
    options = login_of(market.kafka_principal)
    assert read(options, market.results_topic) == "read"
    assert read(options, civil.results_topic) == "TopicAuthorizationFailedError"
