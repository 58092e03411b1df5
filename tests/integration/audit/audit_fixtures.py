"""Fixtures and helpers for the audit-log integration tests (real PostgreSQL and Kafka)."""

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from platform_core.db import migrate
from platform_core.envelope import Actor, EventEnvelope
from platform_core.event_store import EventStore
from platform_core.event_types import EventTypeRegistry
from platform_core.merkle import CompactRange, leaf_hash
from platform_core.contracts.reporting import register as register_reporting
from platform_core.kafka_io import kafka_options

import reporting
from signer_process import SignerProcess, running_signer

REPORTING_MIGRATIONS = Path(reporting.__file__).with_name("migrations")
TEST_KEY_SEED = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes 0..31, for tests only
ORIGIN = "campaign.example/test/audit"


class AnyPayload(BaseModel):
    model_config = ConfigDict(extra="allow")


def audit_event_types() -> EventTypeRegistry:
    """The reporting contracts plus permissive test types standing in for other services'."""
    registry = EventTypeRegistry()
    register_reporting(registry)
    for name in ("EntityRegistered", "EntityProfileUpdated", "LedgerSubmitted", "OrganizationFormed"):
        registry.register(name, 1, AnyPayload)
    return registry


@pytest.fixture
def audit_schema(engine):
    """A fresh schema with the core and the reporting (audit) migrations."""
    name = f"t_audit_{uuid.uuid4().hex[:10]}"
    migrate(engine, name, REPORTING_MIGRATIONS)
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))


def envelope(n: int, stream: str | None = None, version: int = 1, *, type_: str = "EntityProfileUpdated",
             payload: dict | None = None, department: str = "district_org:420102",
             recorded_at: datetime | None = None) -> EventEnvelope:
    moment = recorded_at or datetime(2016, 9, 1, tzinfo=timezone.utc) + timedelta(seconds=n)
    return EventEnvelope(
        event_id=uuid.uuid4(), type=type_, schema_version=1, stream_id=stream or f"entity-{uuid.uuid4()}",
        stream_version=version, occurred_at=moment, recorded_at=moment,
        actor=Actor(department=department, user="clerk"),
        payload=payload if payload is not None else {"employees": n, "division_code": "420102"})


def reporting_store(engine, schema: str, topic: str) -> EventStore:
    return EventStore(engine, schema, topic, audit_event_types())


def publish_outbox(engine, schema: str, bootstrap: str) -> None:
    from platform_core.kafka_io import create_producer
    from platform_core.outbox_relay import OutboxRelay

    producer = create_producer(bootstrap, f"relay-{schema}")
    relay = OutboxRelay(engine, schema, producer)
    while relay.publish_batch():
        pass
    producer.close()


def run_audit_processor(engine, bootstrap: str, schema: str, topic: str, expected_size: int,
                        group: str | None = None, timeout_s: float = 60.0) -> int:
    """Drive the real audit projection (shared consumer, batch handler) until the log has
    ``expected_size`` leaves; return the size reached."""
    import time

    from platform_core.kafka_io import DeadLetterPublisher, create_producer
    from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
    from reporting.audit.processor import audit_projection
    from reporting.audit.store import AuditLogStore

    spec = audit_projection(schema, topics=(topic,), group_id=group or f"audit-{schema}")
    producer = create_producer(bootstrap, f"dlq-{schema}")
    applier = ProjectionApplier(schema, spec.group_id, spec.handler, spec.registry, DeadLetterPublisher(producer),
                                batch_handler=spec.batch_handler, dedupe=spec.dedupe)
    consumer = ProjectionConsumer(engine, bootstrap, [topic], applier, max_records=50)
    store = AuditLogStore(schema)
    deadline = time.monotonic() + timeout_s
    size = 0
    try:
        while time.monotonic() < deadline:
            consumer.poll_once(timeout_ms=300)
            with engine.connect() as conn:
                size = store.head(conn)[0]
            if size >= expected_size:
                consumer.poll_once(timeout_ms=300)  # anything extra would show up now
                with engine.connect() as conn:
                    size = store.head(conn)[0]
                break
    finally:
        consumer.consumer.close()
        producer.close()
    return size


def create_topic(bootstrap: str) -> str:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    name = f"test.audit.{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(**kafka_options(bootstrap))
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    admin.close()
    return name


def delete_topic(bootstrap: str, name: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_options(bootstrap))
    admin.delete_topics([name])
    admin.close()


@pytest.fixture
def signer_process(tmp_path):
    """A real signer process for the test's scratch log (test key, initialised empty)."""
    with running_signer(tmp_path / "signer", ORIGIN, TEST_KEY_SEED) as signer:
        yield signer


def make_signer(engine, schema: str, topic: str, signer: SignerProcess):
    """Reporting's checkpoint code over a scratch schema, asking the signer process ``signer``."""
    from reporting.audit.checkpoints import CheckpointSigner
    from reporting.audit.signer_client import SignerClient
    from reporting.audit.store import AuditLogStore

    return CheckpointSigner(engine, reporting_store(engine, schema, topic), AuditLogStore(schema),
                            SignerClient(signer.url, signer.secret_file.read_text().strip(), ORIGIN), ORIGIN)


def rewrite_one_leaf_consistently(engine, schema: str, near: int) -> int:
    """As the superuser, triggers off: the event row, its leaf, every node above it and the head. Returns the leaf."""
    from reporting.audit.store import AuditLogStore

    log = AuditLogStore(schema)
    with engine.begin() as conn:
        leaf, event_id, original = conn.execute(sa.text(
            f"SELECT leaf_index, event_id, canonical FROM {schema}.audit_log WHERE leaf_index >= :i"
            " AND position('EntityProfileUpdated' in convert_from(canonical, 'UTF8')) > 0"
            " ORDER BY leaf_index LIMIT 1"), {"i": near}).one()
        forged = bytes(original).replace(b'"employees":10', b'"employees":90', 1)
        assert forged != bytes(original)
        for table in ("events", "audit_log", "audit_nodes", "audit_heads"):
            conn.execute(sa.text(f"ALTER TABLE {schema}.{table} DISABLE TRIGGER USER"))
        conn.execute(sa.text(f"UPDATE {schema}.events SET canonical = :c, payload = CAST(:p AS jsonb)"
                             " WHERE event_id = :e"),
                     {"c": forged, "p": json.dumps(json.loads(forged)["payload"]), "e": event_id})
        conn.execute(sa.text(f"UPDATE {schema}.audit_log SET canonical = :c, leaf_hash = :h WHERE leaf_index = :i"),
                     {"c": forged, "h": leaf_hash(forged), "i": leaf})
        hashes = [bytes(h) for (h,) in conn.execute(sa.text(
            f"SELECT leaf_hash FROM {schema}.audit_log ORDER BY leaf_index"))]
        heads = set(conn.execute(sa.text(f"SELECT tree_size FROM {schema}.audit_heads WHERE tree_size > :i"),
                                 {"i": leaf}).scalars())
        tree = CompactRange()
        for h in hashes:
            for level, index, value in tree.append(h):
                conn.execute(sa.text(f"UPDATE {schema}.audit_nodes SET hash = :h WHERE level = :l AND idx = :i"
                                     " AND hash <> :h"), {"h": value, "l": level, "i": index})
            if tree.size in heads:  # every head row since the leaf: the log's history agrees with the forgery
                conn.execute(sa.text(f"UPDATE {schema}.audit_heads SET root_hash = :r WHERE tree_size = :s"),
                             {"r": tree.root(), "s": tree.size})
        for table in ("events", "audit_log", "audit_nodes", "audit_heads"):
            conn.execute(sa.text(f"ALTER TABLE {schema}.{table} ENABLE TRIGGER USER"))
        size, root = log.head(conn)
        assert log.root_at(conn, size) == root  # the database agrees with itself: nothing local can tell
    return leaf


def delete_checkpoints(engine, schema: str, ids: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {schema}.audit_checkpoints DISABLE TRIGGER USER"))
        conn.execute(sa.text(f"DELETE FROM {schema}.audit_checkpoints WHERE id = ANY(:ids)"), {"ids": ids})
        conn.execute(sa.text(f"ALTER TABLE {schema}.audit_checkpoints ENABLE TRIGGER USER"))
