"""The event store on the real PostgreSQL: append-only, optimistic concurrency,
idempotency keys, bad input refused with nothing written."""

import threading

import pytest
import sqlalchemy as sa

from platform_core.db import migrate
from platform_core.envelope import Actor
from platform_core.errors import (ConcurrencyConflict, IdempotencyKeyReused, PayloadTooLarge,
                                  SchemaViolation, UnknownEventType)
from platform_core.event_store import PREPARED_MAX_EVENTS
from platform_core.events import NewEvent

ACTOR = Actor(department="district:420102", user="clerk-7")


def profile(employees: int, note: str = "") -> NewEvent:
    return NewEvent("EntityProfileUpdated", {"employees": employees, "note": note})


def counts(engine, schema) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {schema}.{table}")).scalar_one()
                     for table in ("events", "outbox", "idempotency_keys"))


def test_append_writes_events_and_outbox_rows_in_order(store, engine, schema):
    result = store.append("entity-1", 0, [profile(10), profile(120)], ACTOR)
    assert [e.stream_version for e in result.events] == [1, 2]
    assert counts(engine, schema) == (2, 2, 0)
    assert [e.payload["employees"] for e in store.read_stream("entity-1")] == [10, 120]


def test_stale_expected_version_is_a_conflict(store):
    store.append("entity-1", 0, [profile(1)], ACTOR)
    with pytest.raises(ConcurrencyConflict, match="at version 1"):
        store.append("entity-1", 0, [profile(2)], ACTOR)


def test_two_concurrent_appends_at_the_same_version_exactly_one_wins(store, engine, schema):
    store.append("entity-1", 0, [profile(1)], ACTOR)
    outcomes, start = [], threading.Barrier(8)

    def attempt(n: int) -> None:
        start.wait()
        try:
            store.append("entity-1", 1, [profile(100 + n)], ACTOR)
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    assert [e.stream_version for e in store.read_stream("entity-1")] == [1, 2]
    assert counts(engine, schema)[:2] == (2, 2)


def test_same_idempotency_key_twice_writes_one_event(store, engine, schema):
    first = store.append("entity-1", 0, [profile(5)], ACTOR, idempotency_key="req-1")
    second = store.append("entity-1", 0, [profile(5)], ACTOR, idempotency_key="req-1")
    assert second.replayed and not first.replayed
    assert [e.event_id for e in second.events] == [e.event_id for e in first.events]
    assert counts(engine, schema) == (1, 1, 1)


def test_concurrent_twins_with_one_idempotency_key_write_one_event(store, engine, schema):
    results, start = [], threading.Barrier(6)

    def attempt() -> None:
        start.wait()
        results.append(store.append("entity-9", 0, [profile(5)], ACTOR, idempotency_key="twin"))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.events[0].event_id for r in results}) == 1
    assert counts(engine, schema) == (1, 1, 1)


def test_reusing_a_key_for_another_request_is_refused(store, engine, schema):
    store.append("entity-1", 0, [profile(5)], ACTOR, idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused, match="req-1"):
        store.append("entity-1", 1, [profile(6)], ACTOR, idempotency_key="req-1")
    assert counts(engine, schema) == (1, 1, 1)


@pytest.mark.parametrize("events, error, field", [
    ([NewEvent("EntityVanished", {})], UnknownEventType, "type"),
    ([NewEvent("EntityProfileUpdated", {"employees": "many"})], SchemaViolation, "payload.employees"),
    ([NewEvent("EntityProfileUpdated", {"employees": -3})], SchemaViolation, "payload.employees"),
    ([NewEvent("EntityProfileUpdated", {"employees": 1, "note": "x" * 5000})], PayloadTooLarge, "payload"),
    # a bad second event keeps the valid first one out too: nothing half-written
    ([profile(1), NewEvent("EntityProfileUpdated", {})], SchemaViolation, "payload.employees"),
])
def test_bad_input_is_refused_with_the_field_and_nothing_written(store, engine, schema, events, error, field):
    with pytest.raises(error) as caught:
        store.append("entity-1", 0, events, ACTOR)
    assert caught.value.field == field
    assert counts(engine, schema) == (0, 0, 0)


@pytest.mark.parametrize("statement", [
    "UPDATE {s}.events SET payload = '{{}}'",
    "DELETE FROM {s}.events",
    "TRUNCATE {s}.events CASCADE",
])
def test_events_are_append_only_in_the_database(store, engine, schema, statement):
    store.append("entity-1", 0, [profile(1)], ACTOR)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text(statement.format(s=schema)))
    assert counts(engine, schema)[0] == 1


def prepared_appends(conn, schema: str) -> int:
    return conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'event_store_append_%'"
                                " AND statement LIKE :table"), {"table": f"%{schema}.events%"}).scalar_one()


def test_the_append_is_prepared_once_per_connection_and_a_rollback_keeps_it(store, engine, schema):
    with engine.connect() as conn:
        with conn.begin() as transaction:
            store.append_in(conn, "entity-1", 0, [profile(1)], ACTOR)
            transaction.rollback()
        for version in (0, 1):
            with conn.begin():
                store.append_in(conn, "entity-1", version, [profile(version + 10)], ACTOR)
        assert prepared_appends(conn, schema) == 1
        conn.rollback()
    assert [e.payload["employees"] for e in store.read_stream("entity-1")] == [10, 11]
    assert counts(engine, schema) == (2, 2, 0)


def test_a_prepared_append_finds_a_schema_dropped_and_created_again(store, engine, schema):
    with engine.connect() as conn:
        with conn.begin():
            store.append_in(conn, "entity-1", 0, [profile(1)], ACTOR)
        with conn.begin():
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        migrate(engine, schema)
        with conn.begin():
            store.append_in(conn, "entity-1", 0, [profile(2)], ACTOR)
    assert [e.payload["employees"] for e in store.read_stream("entity-1")] == [2]


def test_a_long_append_runs_unprepared_with_the_same_checks(store, engine, schema):
    many = [profile(n) for n in range(PREPARED_MAX_EVENTS + 4)]
    with engine.connect() as conn:
        with conn.begin():
            result = store.append_in(conn, "entity-1", 0, many, ACTOR)
        assert prepared_appends(conn, schema) == 0
        conn.rollback()
    assert [e.stream_version for e in result.events] == list(range(1, len(many) + 1))
    with pytest.raises(ConcurrencyConflict, match=f"at version {len(many)}"):
        store.append("entity-1", 0, many, ACTOR)
    assert counts(engine, schema) == (len(many), len(many), 0)


@pytest.mark.parametrize("how", ["append", "execute"])
def test_a_connection_lost_under_the_store_s_statements_is_replaced_for_the_next_command(settings, engine, schema,
                                                                                          topic, how):
    """The store runs its statements on the DBAPI connection; a lost one must leave the pool as it would under
    SQLAlchemy's own statements, or every later command on it fails (a 500 per dead pooled connection)."""
    from platform_core.db import create_db_engine
    from platform_core.event_store import EventStore
    from platform_core.events import Command, Decision
    from support import make_event_types

    own = create_db_engine(settings.database_url, pool_size=1)
    store = EventStore(own, schema, topic, make_event_types())

    def command(stream: str):
        if how == "append":
            return store.append(stream, 0, [profile(1)], ACTOR, idempotency_key=f"key-{stream}")
        return store.execute(Command(ACTOR, f"print-{stream}", f"key-{stream}"),
                             lambda conn: Decision([profile(1)], stream, 0))

    try:
        command("entity-1")
        raw = own.raw_connection()
        backend = raw.dbapi_connection.get_backend_pid()
        raw.close()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        with pytest.raises(sa.exc.DBAPIError) as lost:
            command("entity-2")
        assert lost.value.connection_invalidated
        assert isinstance(lost.value, sa.exc.OperationalError)  # the HTTP apps answer it 503, not 500
        command("entity-3")  # a new connection
        assert counts(engine, schema) == (2, 2, 2)
    finally:
        own.dispose()
