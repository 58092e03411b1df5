"""Helpers for the reporting integration tests: fresh topics, publishing scenario events, table dumps."""

import sys
import uuid
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting.adapters.projection_store import PROJECTION_TABLES  # noqa: E402
from platform_core.kafka_io import kafka_options  # noqa: E402
from platform_core.services import SERVICE_NAMES as SERVICES  # noqa: E402


def create_topics(bootstrap: str, partitions: int = 3) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    topics = {service: f"test.{service}.{suffix}" for service in SERVICES}
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics.values()])
    admin.close()
    return topics


def delete_topics(bootstrap: str, topics: dict[str, str]) -> None:
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    admin.delete_topics(list(topics.values()))
    admin.close()


def publish(bootstrap: str, topics: dict[str, str], events, duplicate_every: int = 0) -> int:
    """Publish (service, envelope) pairs keyed by stream id; optionally send some twice (at-least-once relay)."""
    producer = KafkaProducer(**kafka_options(bootstrap), acks="all")
    sent = 0
    for number, (service, envelope) in enumerate(events, start=1):
        copies = 2 if duplicate_every and number % duplicate_every == 0 else 1
        for _ in range(copies):
            producer.send(topics[service], key=envelope.stream_id.encode(), value=envelope.canonical_bytes())
            sent += 1
    producer.flush()
    producer.close()
    return sent


def dump(engine, schema: str) -> dict[str, list[tuple]]:
    """Every projection table's rows, sorted (for equality between runs)."""
    found = {}
    with engine.connect() as conn:
        for table in PROJECTION_TABLES:
            rows = conn.execute(sa.text(f"SELECT * FROM {schema}.{table}")).all()
            found[table] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def drop_schema(engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def make_context(settings, schema: str, reporting_topic: str):
    """A reporting ServiceContext on a scratch schema and topic (the real service code, isolated)."""
    from platform_core.contracts import event_types_for
    from platform_core.service import bootstrap_service

    return bootstrap_service("reporting", event_types_for("reporting"), settings, schema=schema,
                             topic=reporting_topic, pool_size=2)


def fill_audit_log(engine, bootstrap: str, schema: str, topics: dict[str, str]) -> None:
    """Run the audit log processor over the test topics until it is idle."""
    from platform_core.kafka_io import DeadLetterPublisher, create_producer
    from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
    from reporting.audit.processor import audit_projection

    spec = audit_projection(schema, tuple(topics.values()), group_id=f"audit-{schema}")
    producer = create_producer(bootstrap, "test-audit-dlq")
    applier = ProjectionApplier(schema, spec.group_id, None, None, DeadLetterPublisher(producer),
                                batch_handler=spec.batch_handler)
    consumer = ProjectionConsumer(engine, bootstrap, list(spec.topics), applier)
    idle = 0
    while idle < 3:
        outcome = consumer.poll_once(timeout_ms=1000)
        idle = 0 if outcome.applied or outcome.duplicates else idle + 1
    consumer.consumer.close()
    producer.close()


def drop_schemas_like(engine, prefix: str) -> None:
    with engine.begin() as conn:
        for (name,) in conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                    {"p": prefix + "%"}).all():
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))



def project_topics(engine, settings, schema: str, topics: dict[str, str], registry, client_id: str,
                   max_records: int = 500) -> None:
    """Run reporting's coverage projection over the test topics into ``schema`` (its own consumer group: a running
    coverage projection owns PROJECTION_GROUP on this broker) until it has been idle for 3 s."""
    from platform_core.kafka_io import DeadLetterPublisher, create_producer
    from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
    from reporting.adapters.projection_store import PROJECTION_GROUP
    from reporting.handlers.projection import projection_handler

    producer = create_producer(settings.kafka_bootstrap, client_id)
    applier = ProjectionApplier(schema, f"{PROJECTION_GROUP}-{schema}", None, registry, DeadLetterPublisher(producer),
                                batch_handler=projection_handler(schema))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, list(topics.values()), applier,
                                  max_records=max_records)
    idle = 0
    while idle < 3:
        result = consumer.poll_once(timeout_ms=1000)
        idle = 0 if (result.applied or result.duplicates) else idle + 1
    consumer.consumer.close()
    producer.close()
