"""Fixtures for formation's integration tests: the real app, and a way to make entities known to it."""

import uuid

import pytest
from fastapi.testclient import TestClient

from formation_support import entity_registered, formation_app, ledger_approved, member_registered, project, token


@pytest.fixture(scope="module")
def client():
    """Formation's app on a simulated campaign clock: checks are judged on the business date (R12), which a
    request names with ``X-Campaign-Time`` (formation_support.on)."""
    with TestClient(formation_app()) as client:  # runs the migrations first
        yield client


@pytest.fixture(scope="session")
def producer(settings):
    from platform_core.kafka_io import create_producer

    producer = create_producer(settings.kafka_bootstrap, "formation-tests")
    yield producer
    producer.close(timeout=10)


@pytest.fixture
def city():
    return token("city_org")


@pytest.fixture
def district():
    return token("district_org", "420102")


@pytest.fixture
def make_entity(client, engine, producer):
    """A function: a fresh entity known to formation (registered, optionally in the baseline, with members)."""

    def make(formal: int = 0, *, baseline: bool = True, members: int | None = None, **facts) -> str:
        entity_id = f"entity-{uuid.uuid4()}"
        events = [entity_registered(entity_id, formal=formal, **facts)]
        if baseline:
            events.append(ledger_approved(f"street-{facts.get('street') or '420102001'}", [entity_id],
                                          facts.get("district", "420102")))
        events += [member_registered(entity_id) for _ in range(members or 0)]
        project(engine, producer, *events)
        return entity_id

    return make
