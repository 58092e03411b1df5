"""The command pipeline's pure parts (platform_core.events): runs of streams, the decision's versions, how a
lost race reads."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.envelope import Actor
from platform_core.errors import ConcurrencyConflict
from platform_core.events import (IDEMPOTENCY_KEY_TAKEN, STREAM_VERSION_TAKEN, UNIQUE_VIOLATION, Command, Decision,
                                  NewEvent, by_stream, lost_race)

ACTOR = Actor(department="district:420102", user="clerk-7")
streams = st.sampled_from([None, "organization-1", "task-entity-1", "task-entity-2"])


@given(st.lists(streams, min_size=1, max_size=12))
def test_runs_keep_the_order_and_every_event_and_never_repeat_a_stream_side_by_side(named):
    events = [NewEvent("OrganizationFormed", {"n": n}, stream_id=s) for n, s in enumerate(named)]
    runs = by_stream(events, "organization-0")
    assert [e for _, run in runs for e in run] == events
    assert all(a != b for (a, _), (b, _) in zip(runs, runs[1:]))
    for stream, run in runs:
        assert all((e.stream_id or "organization-0") == stream for e in run)


def test_an_event_naming_no_stream_needs_the_commands_stream():
    with pytest.raises(ValueError, match="MemberLeft"):
        by_stream([NewEvent("MemberLeft", {})], None)


def test_the_expected_version_is_the_decided_streams_only():
    decision = Decision([NewEvent("OrganizationDissolved", {})], "organization-1", 4)
    assert decision.expected("organization-1") == 4
    assert decision.expected("task-entity-1") is None  # other streams: their current version
    assert Decision([]).expected("organization-1") is None


@pytest.mark.parametrize("constraint, sqlstate, has_key, race", [
    (IDEMPOTENCY_KEY_TAKEN, UNIQUE_VIOLATION, True, "twin"),
    (STREAM_VERSION_TAKEN, UNIQUE_VIOLATION, True, "twin"),  # a twin may lose at the version first
    (STREAM_VERSION_TAKEN, UNIQUE_VIOLATION, False, "version"),
    ("entities_uscc_unique", UNIQUE_VIOLATION, True, "unique"),
    ("entities_uscc_unique", UNIQUE_VIOLATION, False, "unique"),
    ("members_entity_fk", "23503", False, "other"),  # a foreign key is not a race: it propagates
    ("", "23514", True, "other"),
])
def test_a_lost_race_reads_by_its_constraint(constraint, sqlstate, has_key, race):
    assert lost_race(constraint, sqlstate, has_key) == race


def test_a_commands_conflict_is_a_409_naming_its_field():
    error = Command(ACTOR, "f", conflict="并发登记冲突，请重试", conflict_field="uscc").conflict_error()
    assert isinstance(error, ConcurrencyConflict)
    assert (error.status, error.message, error.field) == (409, "并发登记冲突，请重试", "uscc")
    assert Command(ACTOR, "f").conflict_error().field == "expected_version"


def test_the_event_type_loads_no_database_library():
    """Domains import it: it must not pull sqlalchemy in, directly or through what it imports."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, platform_core.events; "
                             "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'psycopg'))))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
