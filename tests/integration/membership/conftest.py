"""Fixtures for membership's integration tests: the real app, fresh ids, known entities."""

import uuid

import pytest
from fastapi.testclient import TestClient

from membership_support import token


@pytest.fixture(scope="module")
def client():
    from membership.entrypoints.http import app

    with TestClient(app) as client:  # runs the migrations first
        yield client


@pytest.fixture
def ids():
    class Ids:
        def entity(self) -> str:
            return f"entity-{uuid.uuid4()}"

        def organization(self) -> str:
            return f"organization-{uuid.uuid4()}"

    return Ids()


@pytest.fixture
def city():
    return token("city_org")


@pytest.fixture(scope="session")
def producer(settings):
    from platform_core.kafka_io import create_producer

    producer = create_producer(settings.kafka_bootstrap, "membership-tests")
    yield producer
    producer.close(timeout=10)


@pytest.fixture
def place(engine, producer, ids):
    """A function: a fresh entity known to membership in the given district."""
    from membership_support import entity_registered, project_entities

    def make(district_code: str = "420102") -> str:
        entity_id = ids.entity()
        project_entities(engine, producer, entity_registered(entity_id, district_code))
        return entity_id

    return make


@pytest.fixture
def organization(engine, producer, ids):
    """A function: a fresh organization known to membership, covering the given entities."""
    from membership_support import organization_formed, project_organizations

    def make(*entity_ids: str, mode: str = "standalone", district_code: str = "420102") -> str:
        organization_id = ids.organization()
        project_organizations(engine, producer, organization_formed(organization_id, list(entity_ids), mode,
                                                                    district_code))
        return organization_id

    return make
