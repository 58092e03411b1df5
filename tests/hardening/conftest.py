"""Fixtures of the bad-input suite (real PostgreSQL and Kafka, like tests/integration)."""

import pytest

from platform_core.settings import PlatformSettings


@pytest.fixture(scope="session")
def settings() -> PlatformSettings:
    return PlatformSettings()
