"""Fixtures on the real PostgreSQL and Kafka that scripts/test.sh starts.

Each test gets its own schema and its own topic, so tests never see each
other's events and may run against a stack that also serves the demo.
"""

import uuid

import pytest
import sqlalchemy as sa

from platform_core.db import create_db_engine, migrate
from platform_core.event_store import EventStore
from platform_core.settings import PlatformSettings
from kafka_scratch import scratch_topic
from support import make_event_types

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def settings() -> PlatformSettings:
    return PlatformSettings()


@pytest.fixture(scope="session")
def engine(settings):
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {settings.database_url}: run scripts/test.sh ({exc})")
    yield engine
    engine.dispose()


@pytest.fixture
def schema(engine):
    name = f"t_{uuid.uuid4().hex[:12]}"
    migrate(engine, name)
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))


@pytest.fixture
def topic(settings):
    with scratch_topic(settings.kafka_bootstrap, "test", partitions=3) as name:
        yield name


@pytest.fixture
def store(engine, schema, topic) -> EventStore:
    return EventStore(engine, schema, topic, make_event_types(), max_payload_bytes=4096)
