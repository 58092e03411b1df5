"""An isolated registry app per test module: its own PostgreSQL schema and Kafka topic (not a test module)."""

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.contracts import event_types_for
from platform_core.event_store import EventStore
from platform_core.kafka_io import kafka_options
from platform_core.service import ServiceContext, service_migrations
from registry.domain.uscc import ALPHABET, check_character
from registry.entrypoints.http import create_app


@contextmanager
def registry_app(settings, engine, **store_options) -> Iterator[tuple[TestClient, EventStore]]:
    """(client, store): the registry's real routes on a fresh schema and topic, removed afterwards;
    ``store_options`` go to its EventStore (group commit)."""
    schema, topic = f"r_{uuid.uuid4().hex[:12]}", f"test.registry.{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    store = EventStore(engine, schema, topic, event_types_for("registry"), settings.max_payload_bytes,
                       **store_options)
    context = ServiceContext(schema, settings, engine, store, service_migrations("registry"))
    try:
        with TestClient(create_app(context)) as client:
            yield client, store
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.delete_topics([topic])
        admin.close()


@pytest.fixture(scope="module")
def isolated(settings, engine):
    """(client, schema, topic): the registry's real routes on a fresh schema and topic."""
    with registry_app(settings, engine) as (client, store):
        yield client, store.schema, store.topic


@pytest.fixture(scope="module")
def client(isolated):
    return isolated[0]


@pytest.fixture(scope="module")
def schema(isolated):
    return isolated[1]


def token(kind: str, territory: str | None = None, user: str = "tester", sectors: tuple = ()) -> dict:
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department=department, kind=kind, user=user, territory=territory, sectors=sectors)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


def make_uscc() -> str:
    body = "91420100" + "".join(random.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def enterprise(**overrides) -> dict:
    tag = uuid.uuid4().hex[:8]
    body = {"kind": "non_public_enterprise", "subtype": "private", "uscc": make_uscc(),
            "name": f"武汉{tag}科技有限公司", "street_code": "420102002", "industry": "internet", "employees": 120,
            "formal_members": 3, "probationary_members": 0, "operation_status": "operating",
            "party_organization": "none", "person_in_charge": "张三", "legal_representative": f"法人{tag}",
            "address": f"中山大道{tag}号", "no_organization_reason": "正在筹建"}
    body.update(overrides)
    return body


def count(engine, schema: str, table: str, where: str = "TRUE") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {schema}.{table} WHERE {where}")).scalar_one()
