"""Kafka I/O: topics from configuration, the idempotent producer, the dead-letter topic."""

import json
import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from .metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

SERVICES = ("registry", "membership", "formation", "reporting")
DEAD_LETTER_TOPIC = "platform.dead-letter"


def service_topic(service: str) -> str:
    """Each service publishes its events to ``<service>.events``."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    return f"{service}.events"


EVENT_TOPICS = tuple(service_topic(s) for s in SERVICES)


def ensure_topics(bootstrap: str, partitions: int, topics: tuple[str, ...] = EVENT_TOPICS) -> list[str]:
    """Create the event topics and the dead-letter topic when missing; return those created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="campaign-topic-admin",
                             request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in (*topics, DEAD_LETTER_TOPIC) if t not in existing]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topic is there either way
        return created
    finally:
        admin.close()


def create_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """Idempotent producer, acks from all in-sync replicas; ordering kept per key."""
    return KafkaProducer(
        bootstrap_servers=bootstrap, client_id=client_id, acks="all", enable_idempotence=True,
        max_in_flight_requests_per_connection=5, linger_ms=5, retries=2**31 - 1,
        delivery_timeout_ms=120000, request_timeout_ms=30000)


def create_offset_probe(bootstrap: str, client_id: str) -> KafkaConsumer:
    """A consumer without a group that only reads topics' partitions and end offsets (projection lag)."""
    return KafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, group_id=None, enable_auto_commit=False)


@dataclass(frozen=True)
class DeadLetter:
    """A message a consumer could not use, and why."""

    group: str
    topic: str
    partition: int
    offset: int
    reason: str
    value: bytes | None

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("dlq.group", self.group.encode()), ("dlq.topic", self.topic.encode()),
            ("dlq.partition", str(self.partition).encode()), ("dlq.offset", str(self.offset).encode()),
            ("dlq.reason", self.reason.encode("utf-8")[:1000]),
        ]


class DeadLetterPublisher:
    """Sends unusable messages to the dead-letter topic, synchronously, so none is lost."""

    def __init__(self, producer: KafkaProducer, topic: str = DEAD_LETTER_TOPIC):
        self.producer = producer
        self.topic = topic

    def publish(self, letter: DeadLetter) -> None:
        value = letter.value if letter.value is not None else json.dumps({"reason": letter.reason}).encode()
        key = f"{letter.topic}:{letter.partition}:{letter.offset}".encode()
        self.producer.send(self.topic, key=key, value=value, headers=letter.headers()).get(timeout=60)
        DEAD_LETTERS.labels(group=letter.group, reason=letter.reason.split(":")[0][:60]).inc()
        log.warning("dead-lettered a message", extra={
            "group": letter.group, "topic": letter.topic, "partition": letter.partition,
            "offset": letter.offset, "reason": letter.reason})
