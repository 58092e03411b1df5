"""Fixtures of the bad-input suite (real PostgreSQL and Kafka, like tests/integration)."""

import pytest
from fastapi.testclient import TestClient

from hardening_apps import SERVICES, build_scratch_app, drop, prepare, scratch_context
from platform_core.settings import PlatformSettings


@pytest.fixture(scope="session")
def settings() -> PlatformSettings:
    return PlatformSettings()


@pytest.fixture(scope="module")
def clients():
    """Each service's real app over a scratch schema, in-process (``client.context`` is its context)."""
    contexts = {service: scratch_context(service) for service in SERVICES}
    opened = {}
    try:
        for service, context in contexts.items():
            prepare(service, context)
            opened[service] = TestClient(build_scratch_app(service, context)).__enter__()
            opened[service].context = context
        yield opened
    finally:
        for client in opened.values():
            client.__exit__(None, None, None)
        for context in contexts.values():
            drop(context)
