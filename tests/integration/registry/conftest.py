"""Registry API tests: each module gets its own registry app on a fresh schema and topic (registry_api_support)."""

import pytest
from registry_api_support import isolated  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def client(isolated):
    return isolated[0]


@pytest.fixture(scope="module")
def schema(isolated):
    return isolated[1]
