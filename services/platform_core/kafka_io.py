"""Kafka I/O: client options from settings (the only place that builds Kafka auth config), topics
from configuration, the idempotent producer, the dead-letter topic."""

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError

from .metrics import DEAD_LETTERS
from .services import EVENT_TOPICS
from .settings import PlatformSettings, get_settings

log = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "platform.dead-letter"
# What a producer may send in one request: the broker's default message.max.bytes (1 MiB); payloads are
# capped at a quarter of it (PlatformSettings.max_payload_bytes).
MAX_REQUEST_SIZE = 1024 * 1024


def kafka_options(bootstrap: str | None = None, settings: PlatformSettings | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments (KafkaProducer, KafkaConsumer, KafkaAdminClient): the brokers and
    this process's login (docs/security.md). ``bootstrap`` overrides the settings' brokers."""
    settings = settings or get_settings()
    options: dict[str, Any] = {"bootstrap_servers": bootstrap or settings.kafka_bootstrap,
                               "security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL"):
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_username,
                       sasl_plain_password=settings.kafka_password())
    if settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_ssl_cafile:
        options["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return options


def aiokafka_options(bootstrap: str | None = None, settings: PlatformSettings | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments (AIOKafkaConsumer, AIOKafkaProducer): the brokers and this process's login."""
    settings = settings or get_settings()
    options = kafka_options(bootstrap, settings)
    options.pop("ssl_cafile", None)
    if settings.kafka_security_protocol == "SASL_SSL":
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    return options


def min_insync_replicas(replication_factor: int) -> int:
    """2 of 3 copies: a write survives the loss of one broker, and with one broker left produces are refused
    (acks=all) rather than kept in a single copy."""
    return 2 if replication_factor >= 3 else 1


def ensure_topics(bootstrap: str, partitions: int, topics: tuple[str, ...] = EVENT_TOPICS,
                  configs: dict[str, dict[str, str]] | None = None, replication_factor: int = 1) -> list[str]:
    """Create the event topics and the dead-letter topic when missing (with ``configs[topic]``, e.g. a
    retention), ``replication_factor`` copies each; return those created."""
    admin = KafkaAdminClient(**kafka_options(bootstrap), client_id="campaign-topic-admin", request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in (*topics, DEAD_LETTER_TOPIC) if t not in existing]
        created = []
        for topic in wanted:
            try:
                topic_configs = {"min.insync.replicas": str(min_insync_replicas(replication_factor)),
                                 **(configs or {}).get(topic, {})}
                admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor,
                                              topic_configs=topic_configs)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topic is there either way
        return created
    finally:
        admin.close()


Client = TypeVar("Client")


def when_reachable(make: Callable[[], Client], stop: threading.Event, what: str, wait: float = 2.0) -> Client | None:
    """``make()`` a client that reaches the broker as it is built, again and again until it succeeds or
    ``stop`` is set (then None): a process started while the broker is down (a restart during a broker
    outage, a slow start under load) waits for it instead of exiting."""
    while not stop.is_set():
        try:
            return make()
        except KafkaError as exc:
            log.warning("Kafka is not reachable for %s; retrying: %s", what, exc)
            stop.wait(wait)
    return None


def create_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """Idempotent producer, acks from all in-sync replicas; ordering kept per key."""
    return KafkaProducer(
        **kafka_options(bootstrap), client_id=client_id, acks="all", enable_idempotence=True,
        max_in_flight_requests_per_connection=5, linger_ms=5, retries=2**31 - 1, max_request_size=MAX_REQUEST_SIZE,
        delivery_timeout_ms=120000, request_timeout_ms=30000)


def create_offset_probe(bootstrap: str, client_id: str) -> KafkaConsumer:
    """A consumer without a group that only reads topics' partitions and end offsets (projection lag)."""
    return KafkaConsumer(**kafka_options(bootstrap), client_id=client_id, group_id=None, enable_auto_commit=False)


# What a produce request carries besides a record's key, value and headers (batch and record framing):
# a dead letter's value is cut so that the whole request stays this far under the producer's limit.
PRODUCE_REQUEST_OVERHEAD = 4096


class DeadLetterUndeliverable(Exception):
    """The broker refused a dead letter, however cut (its size limit is below the producer's)."""


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

    def key(self) -> bytes:
        return f"{self.topic}:{self.partition}:{self.offset}".encode()

    def fitted(self, max_request_size: int) -> tuple[bytes, list[tuple[str, bytes]]]:
        """(value, headers) of the copy, never more than ``max_request_size`` in all: a value too large is
        cut, and the headers say so (``dlq.truncated``) with the original's size and SHA-256."""
        value = self.value if self.value is not None else json.dumps({"reason": self.reason}).encode()
        headers = self.headers()
        # room for the value: the limit less the framing, the key, these headers and the three added below
        room = max(0, max_request_size - PRODUCE_REQUEST_OVERHEAD - len(self.key()) - 400
                   - sum(len(name) + len(content) for name, content in headers))
        if len(value) <= room:
            return value, headers
        headers += [("dlq.truncated", f"value cut to {room} of {len(value)} bytes to fit the producer's "
                                      f"max_request_size {max_request_size}".encode()),
                    ("dlq.original_size", str(len(value)).encode()),
                    ("dlq.original_sha256", hashlib.sha256(value).hexdigest().encode())]
        return value[:room], headers


class DeadLetterPublisher:
    """Sends unusable messages to the dead-letter topic, synchronously, so none is lost. A copy never exceeds
    the producer's ``max_request_size`` (DeadLetter.fitted); one the broker refuses all the same (its limit
    is lower) raises DeadLetterUndeliverable, for the consumer to record (platform_core.projection_consumer)."""

    def __init__(self, producer: KafkaProducer, topic: str = DEAD_LETTER_TOPIC):
        self.producer = producer
        self.topic = topic

    def publish(self, letter: DeadLetter) -> None:
        value, headers = letter.fitted(self.producer.config["max_request_size"])
        try:
            self.producer.send(self.topic, key=letter.key(), value=value, headers=headers).get(timeout=60)
        except MessageSizeTooLargeError as exc:
            raise DeadLetterUndeliverable(f"{type(exc).__name__}: {exc}") from exc
        DEAD_LETTERS.labels(group=letter.group, reason=letter.reason.split(":")[0][:60]).inc()
        log.warning("dead-lettered a message from %s:%s@%s: %s", letter.topic, letter.partition, letter.offset,
                    letter.reason, extra={
            "group": letter.group, "topic": letter.topic, "partition": letter.partition, "offset": letter.offset,
            "reason": letter.reason, "truncated": len(headers) > len(letter.headers())})
