"""Which named workers a service's /readyz calls dead (platform_core.workers.dead_workers)."""

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from platform_core.workers import WorkerRow, dead_workers

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)


def row(state: str, silent_for: float, detail: str | None = None, name: str = "registry-relay") -> WorkerRow:
    return WorkerRow(name, state, detail, NOW - timedelta(seconds=silent_for))


def test_a_worker_that_said_it_failed_is_dead_with_its_reason():
    assert dead_workers([row("failed", 0, "ProjectionFailed: stopped")], NOW) == {
        "registry-relay": "failed: ProjectionFailed: stopped"}


def test_a_stopped_worker_is_the_operators_choice_not_a_death():
    assert dead_workers([row("stopped", 3600)], NOW) == {}


@given(silent_for=st.floats(min_value=0, max_value=7200), stale_after=st.floats(min_value=1, max_value=600))
def test_a_running_worker_is_dead_exactly_when_silent_longer_than_allowed(silent_for, stale_after):
    dead = dead_workers([row("running", silent_for)], NOW, stale_after)
    assert bool(dead) == (timedelta(seconds=silent_for) > timedelta(seconds=stale_after))
    if dead:
        assert dead["registry-relay"].startswith("no heartbeat for ")


def test_only_the_dead_ones_are_named():
    rows = [row("running", 1, name="a"), row("running", 31, name="b"), row("stopped", 99, name="c"),
            row("failed", 0, "boom", name="d")]
    assert sorted(dead_workers(rows, NOW, 30)) == ["b", "d"]
