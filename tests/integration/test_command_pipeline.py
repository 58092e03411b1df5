"""The command pipeline (EventStore.execute) on the real PostgreSQL: one idempotency look-up, the append and
the read model in one transaction, lost races as 409, metrics counted once."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2.extensions
import pytest
import sqlalchemy as sa

from platform_core.envelope import Actor
from platform_core.errors import AlreadyExists, ConcurrencyConflict, RuleViolation
from platform_core.events import Command, Decision, NewEvent
from platform_core.metrics import EVENTS_APPENDED

ACTOR = Actor(department="district:420102", user="clerk-7")
CONFLICT = "实体已被并发修改，请重新读取后重试"


def profile(employees: int) -> NewEvent:
    return NewEvent("EntityProfileUpdated", {"employees": employees})


@pytest.fixture
def read_model(engine, schema):
    """A read table of the test's own, with a unique column (like registry's entities.uscc)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {schema}.profiles (stream_id text PRIMARY KEY, employees int,"
                             " code text UNIQUE)"))
    return f"{schema}.profiles"


def write_row(table: str, code: str | None = None):
    def project(conn, result):
        envelope = result.events[-1]
        conn.execute(sa.text(f"INSERT INTO {table} VALUES (:s, :e, :c) ON CONFLICT (stream_id) DO UPDATE"
                             " SET employees = EXCLUDED.employees"),
                     {"s": envelope.stream_id, "e": envelope.payload["employees"], "c": code})
        return envelope.payload["employees"]
    return project


def counts(engine, schema, table: str | None = None) -> tuple[int, ...]:
    tables = ["events", "outbox", "idempotency_keys"]
    with engine.connect() as conn:
        found = [conn.execute(sa.text(f"SELECT count(*) FROM {schema}.{t}")).scalar_one() for t in tables]
        if table is not None:
            found.append(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    return tuple(found)


@contextmanager
def key_look_ups(engine) -> Iterator[list[str]]:
    """The statements that read the idempotency keys, as psycopg2's cursors send them while inside: the store
    runs its statements on the DBAPI cursor, under SQLAlchemy's execution events, so the cursors are watched."""
    seen: list[str] = []

    class Watched(psycopg2.extensions.cursor):
        def execute(self, statement, parameters=None):
            if statement.lstrip().upper().startswith("SELECT") and "idempotency_keys" in statement:
                seen.append(statement)
            return super().execute(statement, parameters)

    def watch(dbapi_connection, record, proxy):
        dbapi_connection.cursor_factory = Watched

    def unwatch(dbapi_connection, record):
        dbapi_connection.cursor_factory = psycopg2.extensions.cursor

    sa.event.listen(engine, "checkout", watch)
    sa.event.listen(engine, "checkin", unwatch)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", watch)
        sa.event.remove(engine, "checkin", unwatch)


def appended(store) -> float:
    return EVENTS_APPENDED.labels(service=store.schema, type="EntityProfileUpdated")._value.get()


def test_a_repeat_answers_with_the_first_result_after_one_look_up_and_decides_nothing(store, engine, schema,
                                                                                    read_model):
    command = Command(ACTOR, "fingerprint-1", "key-1", CONFLICT)
    decided = []

    def decide(conn):
        decided.append(1)
        return Decision([profile(7)], "entity-1", 0)

    before = appended(store)
    first = store.execute(command, decide, write_row(read_model), replay=lambda conn, earlier: "replayed")
    with key_look_ups(engine) as look_ups:
        second = store.execute(command, decide, write_row(read_model), replay=lambda conn, earlier: "replayed")
    assert len(look_ups) == 1  # the key looked up once; the append claimed it without a second look
    assert (first.answer, first.replayed, second.answer, second.replayed) == (7, False, "replayed", True)
    assert [e.event_id for e in second.result.events] == [e.event_id for e in first.result.events]
    assert decided == [1]
    assert counts(engine, schema, read_model) == (1, 1, 1, 1)
    assert appended(store) - before == 1  # counted after the commit, not again for the repeat


def test_a_first_run_looks_the_key_up_once(store, engine, read_model):
    with key_look_ups(engine) as look_ups:
        store.execute(Command(ACTOR, "fingerprint-2", "key-2"), lambda conn: Decision([profile(1)], "entity-2", 0),
                      write_row(read_model))
    assert len(look_ups) == 1


def waiting_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                    " AND datname = current_database()")).scalar_one() > 0


def test_an_append_racing_a_concurrent_one_at_the_same_version_is_a_409_and_writes_nothing(store, engine, schema,
                                                                                          read_model):
    hold, outcome = threading.Event(), {}

    def held_open(conn, result):
        hold.wait(10)  # the first command's transaction stays open while the second appends
        return write_row(read_model)(conn, result)

    def first() -> None:
        store.execute(Command(ACTOR, "a", conflict=CONFLICT),
                      lambda conn: Decision([profile(1)], "entity-1", 0), held_open)

    def second() -> None:
        try:
            store.execute(Command(ACTOR, "b", conflict=CONFLICT),
                          lambda conn: Decision([profile(2)], "entity-1", 0), write_row(read_model))
            outcome["second"] = "won"
        except ConcurrencyConflict as exc:
            outcome["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    time.sleep(0.2)
    threads[1].start()
    deadline = time.monotonic() + 10
    while not waiting_on_a_lock(engine) and time.monotonic() < deadline:
        time.sleep(0.02)  # the second append waits on the first one's stream version
    hold.set()
    for thread in threads:
        thread.join()
    lost = outcome["second"]
    assert isinstance(lost, ConcurrencyConflict)
    assert (lost.status, lost.message, lost.field) == (409, CONFLICT, "expected_version")
    assert [e.payload["employees"] for e in store.read_stream("entity-1")] == [1]
    assert counts(engine, schema, read_model) == (1, 1, 0, 1)


def test_the_read_model_rolls_back_with_the_append(store, engine, schema, read_model):
    def refuse_after_writing(conn, result):
        write_row(read_model)(conn, result)
        raise RuleViolation("refused after the read rows were written", field="employees")

    with pytest.raises(RuleViolation):
        store.execute(Command(ACTOR, "f", "key-3"), lambda conn: Decision([profile(3)], "entity-3", 0),
                      refuse_after_writing)
    assert counts(engine, schema, read_model) == (0, 0, 0, 0)


def test_a_unique_value_of_the_read_model_taken_is_a_409_named_by_the_service(store, engine, schema, read_model):
    store.execute(Command(ACTOR, "x"), lambda conn: Decision([profile(1)], "entity-1", 0),
                  write_row(read_model, code="91420100MA4KXXXX0X"))

    def name_the_holder(conn):
        holder = conn.execute(sa.text(f"SELECT stream_id FROM {read_model} WHERE code = :c"),
                              {"c": "91420100MA4KXXXX0X"}).scalar_one()
        raise AlreadyExists(f"the code belongs to {holder}", field="code")

    with pytest.raises(AlreadyExists, match="entity-1"):
        store.execute(Command(ACTOR, "y", "key-4"), lambda conn: Decision([profile(2)], "entity-2", 0),
                      write_row(read_model, code="91420100MA4KXXXX0X"), explain_unique=name_the_holder)
    with pytest.raises(ConcurrencyConflict, match=CONFLICT) as caught:  # no explanation: the command's 409
        store.execute(Command(ACTOR, "z", conflict=CONFLICT, conflict_field="code"),
                      lambda conn: Decision([profile(2)], "entity-2", 0), write_row(read_model, "91420100MA4KXXXX0X"))
    assert caught.value.field == "code"
    assert counts(engine, schema, read_model) == (1, 1, 0, 1)


def test_a_decision_over_several_streams_is_replayed_in_the_order_written(store, engine, schema):
    store.append("task-1", 0, [profile(1)], ACTOR)
    events = [NewEvent("EntityProfileUpdated", {"employees": 2}, stream_id="task-1"),
              NewEvent("EntityProfileUpdated", {"employees": 3}, stream_id="organization-1"),
              NewEvent("EntityProfileUpdated", {"employees": 4}, stream_id="task-1")]
    command = Command(ACTOR, "multi", "key-5")
    first = store.execute(command, lambda conn: Decision(events))
    again = store.execute(command, lambda conn: Decision(events))
    assert [(e.stream_id, e.stream_version) for e in first.result.events] == [
        ("task-1", 2), ("organization-1", 1), ("task-1", 3)]
    assert again.replayed and [e.event_id for e in again.result.events] == [e.event_id for e in first.result.events]
    assert counts(engine, schema) == (4, 4, 1)
