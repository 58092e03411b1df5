"""Suite-wide: tests that kill the stack's broker and PostgreSQL (marked ``disrupts_stack``) run last, so no
other test meets a restarted server through a pooled connection opened before the kill. Hypothesis examples
have no time limit: the suite runs on shared 2-core machines, where a 200 ms deadline fails a correct example
(speed is measured by the benchmarks, never asserted by tests)."""

import pytest
from hypothesis import settings

settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("disrupts_stack") is not None)  # stable: order kept
