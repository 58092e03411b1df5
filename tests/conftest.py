"""Suite-wide: tests that kill the stack's broker and PostgreSQL (marked ``disrupts_stack``) run last, so no
other test meets a restarted server through a pooled connection opened before the kill."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("disrupts_stack") is not None)  # stable: order kept
