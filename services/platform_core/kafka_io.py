"""Kafka I/O: client options from settings (the only place that builds Kafka auth config), topics
from configuration, the idempotent producer, the dead-letter topic."""

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .metrics import DEAD_LETTERS
from .services import EVENT_TOPICS
from .settings import PlatformSettings, get_settings

log = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "platform.dead-letter"


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
    """aiokafka keyword arguments (AIOKafkaConsumer, AIOKafkaProducer), and through ``faust_credentials``
    faust's: the brokers and this process's login."""
    settings = settings or get_settings()
    options = kafka_options(bootstrap, settings)
    options.pop("ssl_cafile", None)
    if settings.kafka_security_protocol == "SASL_SSL":
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    return options


def faust_credentials(settings: PlatformSettings | None = None):
    """faust's ``broker_credentials`` for this process's login (None without SASL); faust hands them
    to aiokafka as ``aiokafka_options`` would."""
    import faust

    options = aiokafka_options(settings=settings)
    if "sasl_mechanism" not in options:
        return None
    return faust.SASLCredentials(username=options["sasl_plain_username"], password=options["sasl_plain_password"],
                                 mechanism=options["sasl_mechanism"], ssl_context=options.get("ssl_context"))


def ensure_topics(bootstrap: str, partitions: int, topics: tuple[str, ...] = EVENT_TOPICS,
                  configs: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Create the event topics and the dead-letter topic when missing (with ``configs[topic]``, e.g. a
    retention); return those created."""
    admin = KafkaAdminClient(**kafka_options(bootstrap), client_id="campaign-topic-admin", request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in (*topics, DEAD_LETTER_TOPIC) if t not in existing]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                              topic_configs=(configs or {}).get(topic, {}))])
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
        max_in_flight_requests_per_connection=5, linger_ms=5, retries=2**31 - 1,
        delivery_timeout_ms=120000, request_timeout_ms=30000)


def create_offset_probe(bootstrap: str, client_id: str) -> KafkaConsumer:
    """A consumer without a group that only reads topics' partitions and end offsets (projection lag)."""
    return KafkaConsumer(**kafka_options(bootstrap), client_id=client_id, group_id=None, enable_auto_commit=False)


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
