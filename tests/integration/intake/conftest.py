"""The intake's tests run on an isolated registry app (tests/integration/registry/registry_api_support.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_api_support import client, isolated, schema  # noqa: E402,F401 (fixtures)
from intake_support import Intake, scratch_departments  # noqa: E402


@pytest.fixture(scope="module")
def intake(settings, engine, client, schema) -> Intake:
    found = Intake(engine, settings.kafka_bootstrap, client.app.state.registry, schema, scratch_departments())
    yield found
    found.producer.close(timeout=5)
