"""The projection applier tells relay repeats by stream version (``stream_versions``), on the real
PostgreSQL: each version is applied once however the repeats fall into batches, a rejected event
still raises its stream's version, another topic's stream of the same id is another stream, and a
member reading records another member is committing waits for that commit and skips them."""

import threading
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from platform_core.envelope import Actor, EventEnvelope
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier

ACTOR = Actor(department="district:420103", user="clerk")
NOW = datetime(2026, 12, 4, tzinfo=timezone.utc)


class _NoDeadLetters:
    def __init__(self):
        self.letters = []

    def publish(self, letter):
        self.letters.append(letter)


def event(stream: str, version: int, employees: int | None = None) -> bytes:
    return EventEnvelope(event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{version}"), type="EntityProfileUpdated",
                         schema_version=1, stream_id=stream, stream_version=version, occurred_at=NOW,
                         recorded_at=NOW, actor=ACTOR,
                         payload={"employees": version if employees is None else employees}).canonical_bytes()


def records(topic: str, values: list[bytes], first_offset: int = 0) -> list[ConsumedRecord]:
    return [ConsumedRecord(topic, 0, first_offset + i, value) for i, value in enumerate(values)]


def applied_table(engine, schema) -> str:
    table = f"{schema}.applied_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (topic text, stream_id text, version int, seq bigserial)"))
    return table


def recording_applier(schema, table, group, topic_of=lambda envelope: "t") -> ProjectionApplier:
    """A projection that records each event it is handed (one row per application); version 13 is refused."""
    def handler(conn, envelope):
        if envelope.payload["employees"] == 13:
            raise ValueError("13 employees is refused here")
        conn.execute(sa.text(f"INSERT INTO {table} (topic, stream_id, version) VALUES (:t, :s, :v)"),
                     {"t": topic_of(envelope), "s": envelope.stream_id, "v": envelope.stream_version})

    return ProjectionApplier(schema, group, handler, None, _NoDeadLetters())


def applied(engine, table) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT stream_id, version FROM {table} ORDER BY seq"))]


def stored(engine, schema, group) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(r.topic, r.stream_id): r.version for r in conn.execute(sa.text(
            f"SELECT topic, stream_id, version FROM {schema}.stream_versions WHERE group_id = :g"), {"g": group})}


def test_repeats_within_and_across_batches_are_applied_once(engine, schema):
    table, group = applied_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    applier = recording_applier(schema, table, group)
    # a relay that crashed between publishing and marking sends a run again, within one batch and later
    first = [event("a", 1), event("a", 2), event("b", 1), event("a", 1), event("a", 2), event("a", 3)]
    second = [event("a", 2), event("a", 3), event("b", 1), event("a", 4), event("b", 2), event("b", 2)]
    outcomes = []
    for offset, batch in ((0, first), (6, second)):
        with engine.begin() as conn:
            outcomes.append(applier.apply(conn, records("t", batch, offset)))
    assert [(o.applied, o.duplicates) for o in outcomes] == [(4, 2), (2, 4)]
    assert applied(engine, table) == [("a", 1), ("a", 2), ("b", 1), ("a", 3), ("a", 4), ("b", 2)]
    assert stored(engine, schema, group) == {("t", "a"): 4, ("t", "b"): 2}


def test_a_rejected_event_raises_its_streams_version_and_is_not_applied_again(engine, schema):
    table, group = applied_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    applier = recording_applier(schema, table, group)
    batch = [event("a", 1), event("a", 2, employees=13), event("a", 3)]
    with engine.begin() as conn:
        outcome = applier.apply(conn, records("t", batch))
    with engine.begin() as conn:  # the whole run again: all repeats, nothing dead-lettered twice
        again = applier.apply(conn, records("t", batch, 3))
    assert (outcome.applied, outcome.dead_lettered) == (2, 1)
    assert (again.applied, again.duplicates, again.dead_lettered) == (0, 3, 0)
    assert applied(engine, table) == [("a", 1), ("a", 3)]
    assert stored(engine, schema, group) == {("t", "a"): 3}


def test_a_stream_id_on_another_topic_is_another_stream(engine, schema):
    table, group = applied_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    applier = recording_applier(schema, table, group)
    with engine.begin() as conn:
        applier.apply(conn, records("registry.events", [event("x", 1), event("x", 2)]))
    with engine.begin() as conn:
        outcome = applier.apply(conn, records("formation.events", [event("x", 1)]))
    assert outcome.applied == 1
    assert stored(engine, schema, group) == {("registry.events", "x"): 2, ("formation.events", "x"): 1}


def test_a_member_reading_what_another_is_committing_waits_and_skips_it(engine, schema):
    """After a rebalance two members may hold the same records for a moment: the second one's guard
    waits on the first one's row locks and, once it committed, counts every event as a repeat."""
    table, group = applied_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    batch = records("t", [event("new", 1), event("new", 2), event("old", 5)])
    with engine.begin() as conn:  # "old" is known up to 4 already
        recording_applier(schema, table, group).apply(conn, records("t", [event("old", v) for v in range(1, 5)]))
    first, second = recording_applier(schema, table, group), recording_applier(schema, table, group)
    outcome = {}

    def late_member():
        with engine.begin() as conn:
            outcome["second"] = second.apply(conn, batch)

    with engine.begin() as conn:
        outcome["first"] = first.apply(conn, batch)
        thread = threading.Thread(target=late_member)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second member did not wait for the first one's commit"
    thread.join(timeout=30)
    assert (outcome["first"].applied, outcome["second"].applied, outcome["second"].duplicates) == (3, 0, 3)
    assert applied(engine, table)[4:] == [("new", 1), ("new", 2), ("old", 5)]
