"""Group commit on the real PostgreSQL: commands that run at the same moment share one transaction, and each
one's outcome is what it would have been alone (platform_core.group_commit)."""

import contextvars
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from platform_core.envelope import Actor
from platform_core.errors import ConcurrencyConflict, IdempotencyKeyReused, RuleViolation
from platform_core.event_store import EventStore
from platform_core.events import Command, Decision, NewEvent
from platform_core.metrics import EVENTS_APPENDED, GROUP_COMMIT_COMMANDS
from support import make_event_types

ACTOR = Actor(department="district:420102", user="clerk-7")
CALLER = contextvars.ContextVar("caller", default=None)


def profile(employees: int) -> NewEvent:
    return NewEvent("EntityProfileUpdated", {"employees": employees})


@pytest.fixture
def grouped(engine, schema, topic) -> EventStore:
    return EventStore(engine, schema, topic, make_event_types(), max_payload_bytes=4096, group_commit_max=8)


def counts(engine, schema) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {schema}.{table}")).scalar_one()
                     for table in ("events", "outbox", "idempotency_keys"))


def groups_observed(store: EventStore) -> float:
    return GROUP_COMMIT_COMMANDS.labels(service=store.schema)._sum.get()


def run_as_one_group(store: EventStore, commands: list[Callable[[], object]], kind=None) -> list[tuple[str, object]]:
    """Run ``commands`` in threads so that all but the first make ONE group: the first command (alone) waits
    in its transaction until the others are queued behind it."""
    outcomes: list[tuple[str, object]] = [("none", None)] * len(commands)
    group = store._group_for(kind)
    held = threading.Event()

    def first() -> object:
        def decide(conn) -> Decision:
            held.set()
            deadline = time.monotonic() + 20
            while len(group._queue) < len(commands) - 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            return Decision([profile(0)], "holder", 0)
        return store.execute(Command(ACTOR, "h"), decide, transaction=kind)

    def attempt(n: int, command: Callable[[], object]) -> None:
        if n > 0:
            held.wait()
        CALLER.set(n)
        try:
            outcomes[n] = ("ok", command())
        except Exception as exc:  # noqa: BLE001 - each thread's own outcome is the test's subject
            outcomes[n] = ("refused", exc)

    threads = [threading.Thread(target=attempt, args=(n, c)) for n, c in enumerate([first] + commands[1:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_concurrent_new_streams_commit_in_one_group(grouped, engine, schema):
    before = groups_observed(grouped)
    commands = [None] + [lambda n=n: grouped.append(f"entity-{n}", 0, [profile(n)], ACTOR) for n in range(1, 8)]
    outcomes = run_as_one_group(grouped, commands, kind=grouped._pooled)
    assert [kind for kind, _ in outcomes] == ["ok"] * 8
    assert groups_observed(grouped) - before == 7  # one group of the seven that queued behind the first
    assert counts(engine, schema) == (8, 8, 0)


def test_each_command_of_a_group_meets_its_own_fate(grouped, engine, schema):
    grouped.append("existing", 0, [profile(1)], ACTOR)
    seen_by_decide: dict[int, object] = {}
    transactions: set[int] = set()  # the top-level transaction of each decide (a savepoint's is its parent's)
    appended = EVENTS_APPENDED.labels(service=grouped.schema, type="EntityProfileUpdated")
    before = appended._value.get()

    def refused() -> object:
        def decide(conn):
            conn.execute(sa.text(f"INSERT INTO {schema}.idempotency_keys (idempotency_key, request_hash, stream_id,"
                                 " event_ids) VALUES ('written-then-refused', 'x', 'x', '{}')"))
            raise RuleViolation("not allowed", field="employees")  # its insert above rolls back with it
        return grouped.execute(Command(ACTOR, "r"), decide)

    def decided(n: int, stream: str, version: int, key: str | None = None, fingerprint: str = "f") -> Callable:
        def command() -> object:
            def decide(conn):
                seen_by_decide[n] = CALLER.get()  # the caller's context, though the leader's thread runs it
                transactions.add(conn.execute(sa.text("SELECT txid_current()")).scalar_one())
                return Decision([profile(n)], stream, version)
            return grouped.execute(Command(ACTOR, fingerprint, key), decide).result
        return command

    commands = [None,
                decided(1, "new-a", 0),
                refused,
                decided(3, "existing", 0),  # stale version: 409
                decided(4, "twin", 0, key="k-twin"),
                decided(5, "twin", 0, key="k-twin"),  # the same key again: the first's result, replayed
                decided(6, "other", 0, key="k-twin", fingerprint="g"),  # the key for another request: 422
                decided(7, "existing", 1)]  # the right version: appended
    outcomes = run_as_one_group(grouped, commands)
    assert outcomes[1][0] == "ok" and outcomes[7][0] == "ok"
    assert outcomes[2][0] == "refused" and isinstance(outcomes[2][1], RuleViolation)
    assert outcomes[3][0] == "refused" and isinstance(outcomes[3][1], ConcurrencyConflict)
    assert outcomes[4][0] == "ok" and not outcomes[4][1].replayed
    assert outcomes[5][0] == "ok" and outcomes[5][1].replayed
    assert outcomes[5][1].events[0].event_id == outcomes[4][1].events[0].event_id
    assert outcomes[6][0] == "refused" and isinstance(outcomes[6][1], IdempotencyKeyReused)
    assert {n: seen_by_decide[n] for n in (1, 3, 4, 7)} == {1: 1, 3: 3, 4: 4, 7: 7}
    assert len(transactions) == 1  # one transaction for the group
    # existing (2 events), holder, new-a, twin: 5 events; the refused command's key row is gone
    assert counts(engine, schema) == (5, 5, 1)
    assert appended._value.get() - before == 4  # counted once each, after the commit; never a replay


def test_a_group_whose_transaction_fails_runs_each_command_again_alone(grouped, engine, schema):
    """The group's connection dies under its third command: nothing of the group was written, and every
    command then runs in a transaction of its own, with its own outcome."""
    killed = threading.Event()

    def killer() -> object:
        def decide(conn):
            if not killed.is_set():
                killed.set()
                with engine.connect() as other:
                    pid = conn.connection.dbapi_connection.get_backend_pid()
                    other.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            return Decision([profile(99)], "killer", 0)
        return grouped.execute(Command(ACTOR, "k"), decide).result

    def simple(n: int) -> Callable:
        return lambda: grouped.execute(Command(ACTOR, "s"), lambda conn: Decision([profile(n)], f"s-{n}", 0)).result

    commands = [None, simple(1), simple(2), killer, simple(4), simple(5)]
    outcomes = run_as_one_group(grouped, commands)
    assert killed.is_set()
    assert [kind for kind, _ in outcomes] == ["ok"] * 6, outcomes
    assert counts(engine, schema) == (6, 6, 0)


def test_a_lone_command_runs_in_its_own_transaction(grouped, engine, schema):
    before = groups_observed(grouped)
    result = grouped.execute(Command(ACTOR, "f", "only"), lambda conn: Decision([profile(1)], "only", 0)).result
    assert result.events[0].stream_version == 1
    assert groups_observed(grouped) == before
    with pytest.raises(ConcurrencyConflict):
        grouped.execute(Command(ACTOR, "g"), lambda conn: Decision([profile(2)], "only", 0))
    assert counts(engine, schema) == (1, 1, 1)


def test_many_threads_many_commands_lose_and_duplicate_nothing(grouped, engine, schema):
    """16 threads, 30 commands each, on 40 streams with read-decide-append: every command either appends at the
    version it read or is a 409; the streams have no gap and no duplicate version."""
    conflicts, appended = [], []

    def worker(t: int) -> None:
        for i in range(30):
            stream = f"s-{(t * 7 + i) % 40}"

            def decide(conn, stream=stream):
                return Decision([profile(t)], stream, grouped.stream_version(conn, stream))
            try:
                appended.append(grouped.execute(Command(ACTOR, "w"), decide).result)
            except ConcurrencyConflict as exc:
                conflicts.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(appended) + len(conflicts) == 16 * 30
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT stream_id, array_agg(stream_version ORDER BY stream_version)"
                                    f" FROM {schema}.events GROUP BY stream_id")).all()
    assert sum(len(versions) for _, versions in rows) == len(appended)
    for _, versions in rows:
        assert versions == list(range(1, len(versions) + 1))



def test_a_bare_append_group_loses_a_key_race_to_another_transaction_and_replays_its_result(grouped, engine,
                                                                                             schema):
    """``append``'s groups run on a bare DBAPI connection. A twin whose key another transaction holds waits on
    the key's unique index; when that transaction commits, the twin rolls back to its command's savepoint and
    reads the first result in a savepoint of the same connection (``_savepoint`` without SQLAlchemy)."""
    outside = engine.connect()
    outside_tx = outside.begin()
    first = grouped.append_in(outside, "twin", 0, [profile(5)], ACTOR, idempotency_key="bare-twin")

    def commit_once_the_group_waits() -> None:
        deadline = time.monotonic() + 30
        with engine.connect() as probe:
            while time.monotonic() < deadline and not probe.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()")).scalar_one():
                time.sleep(0.01)
        outside_tx.commit()

    committer = threading.Thread(target=commit_once_the_group_waits)
    committer.start()
    try:
        commands = [None, lambda: grouped.append("other", 0, [profile(6)], ACTOR),
                    lambda: grouped.append("twin", 0, [profile(5)], ACTOR, idempotency_key="bare-twin")]
        outcomes = run_as_one_group(grouped, commands, kind=grouped._pooled)
    finally:
        committer.join(60)
        outside.close()
    assert [kind for kind, _ in outcomes] == ["ok"] * 3, outcomes
    assert outcomes[2][1].replayed and outcomes[2][1].events[0].event_id == first.events[0].event_id
    assert counts(engine, schema) == (3, 3, 1)  # holder, other, the outside twin's event
