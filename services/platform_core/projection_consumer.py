"""Effectively-once projections: a batch's projection updates and its consumed
offsets commit in ONE PostgreSQL transaction.

Offsets live in the consuming service's ``consumer_offsets`` table, not in
Kafka, so a crash at any moment replays exactly the uncommitted part.
Duplicates that the at-least-once relay may publish are skipped by their stream
version (``stream_versions``: the newest version applied per stream, raised by
one guarded upsert per batch). That is exact because the relay keys each record
by its stream id and publishes a stream's events in version order with an
idempotent producer, so within its partition a stream's versions only repeat,
never arrive early (docs/architecture.md, "Partitioning and order"). A
projection may keep the per-event marks instead (``processed_events``, by
event_id): the audit log does (docs/audit.md). A message that cannot be parsed
or applied goes to the dead-letter topic with the reason, and processing
continues.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from datetime import datetime, timezone

import psycopg2
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from sqlalchemy.engine import Connection, Engine

from .db import quoted_schema
from .envelope import EventEnvelope
from .errors import PlatformError
from .event_types import EventTypeRegistry
from .kafka_io import DeadLetter, DeadLetterPublisher, DeadLetterUndeliverable, kafka_options
from .metrics import CONSUMER_LAG, DEAD_LETTERS_UNDELIVERED, EVENTS_PROJECTED, PROJECTION_FRESHNESS, observe_all

log = logging.getLogger(__name__)

ProjectionHandler = Callable[[Connection, EventEnvelope], None]
# A batch handler gets all new events of a batch at once (one multi-row statement beats a
# round trip per event); on a rejection it is called again with one event at a time.
BatchHandler = Callable[[Connection, list[EventEnvelope]], None]
# Errors that mean "this event cannot be applied"; anything else (database down) fails the batch.
REJECTIONS = (PlatformError, ValueError, KeyError, TypeError)
# How stale a consumer's view of the topics' partitions may get (kafka-python's default is 5 minutes).
METADATA_MAX_AGE_MS = 30_000
# A member that died (SIGKILL, a lost host) keeps its partitions until its session expires, and a restarted one
# waits for that: kafka-python's default of 45 s stalled every projection restarted after a crash that long.
# 10 s with a heartbeat every 3 s (aiokafka's defaults; the broker's minimum is 6 s). Heartbeats come from
# kafka-python's own thread, so a long batch does not end the session (max_poll_interval_ms bounds that).
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 3_000
IDLE_AFTER_COMMIT_S = 1.0  # how often an idle consumer calls its applier's after_commit


class ConsumedRecord(NamedTuple):
    """The parts of a Kafka record a projection needs (from kafka-python or aiokafka alike). A named tuple:
    one is made per record polled, and a frozen dataclass took four times as long to build."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()  # the intake's CloudEvents attributes
    key: bytes | None = None


@dataclass
class BatchOutcome:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


class ConsumerOffsets:
    """A consumer group's next offsets, kept in the service's ``consumer_offsets`` table and written in the
    transaction of the work they count (every applier of the shared driver uses this)."""

    def __init__(self, schema: str, group_id: str):
        self.schema = quoted_schema(schema)
        self.group_id = group_id
        # Every partition of the batch in one statement (a batch of the reporting worker spans up to
        # 4 topics x their partitions: that many round trips before).
        self._store = sa.text(
            f"INSERT INTO {self.schema}.consumer_offsets (group_id, topic, partition, next_offset)"
            " SELECT :g, t, p, o FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:o AS bigint[])) AS n(t, p, o)"
            " ON CONFLICT (group_id, topic, partition)"
            " DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()")

    @staticmethod
    def after(records: Iterable[ConsumedRecord]) -> dict[tuple[str, int], int]:
        """Each partition's next offset after ``records``."""
        return {(record.topic, record.partition): record.offset + 1 for record in records}

    def store(self, conn: Connection, next_offsets: dict[tuple[str, int], int]) -> None:
        if next_offsets:
            conn.execute(self._store, {"g": self.group_id, "t": [topic for topic, _ in next_offsets],
                                       "p": [partition for _, partition in next_offsets],
                                       "o": list(next_offsets.values())})

    def stored(self, conn: Connection) -> dict[tuple[str, int], int]:
        rows = conn.execute(sa.text(
            f"SELECT topic, partition, next_offset FROM {self.schema}.consumer_offsets WHERE group_id = :g"),
            {"g": self.group_id})
        return {(row.topic, row.partition): row.next_offset for row in rows}


# A group's progress: its offsets and what tells its repeats (either kind of dedupe).
PROGRESS_TABLES = ("consumer_offsets", "stream_versions", "processed_events")


def forget_progress(conn: Connection, schema: str, group_id: str) -> None:
    """Forget a consumer group's offsets and dedupe rows in ``schema`` (its projection rebuilds from the
    topics' start); tables the schema does not have yet are skipped."""
    s = quoted_schema(schema)
    for table in PROGRESS_TABLES:
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{s}.{table}"}).scalar() is not None:
            conn.execute(sa.text(f"DELETE FROM {s}.{table} WHERE group_id = :g"), {"g": group_id})


class Applier(Protocol):
    """What a batch does inside the driver's transaction: the work and its offsets, committed together."""

    group_id: str

    def apply(self, conn: Connection, records: list[ConsumedRecord]) -> "BatchOutcome": ...

    def stored_offsets(self, conn: Connection) -> dict[tuple[str, int], int]: ...

    def after_commit(self) -> None:
        """Work that may run only once the batch committed (the intake publishes its outcomes)."""


DEDUPE_BY_STREAM_VERSION = "stream_version"
DEDUPE_BY_EVENT_ID = "event_id"


class StreamVersionGuard:
    """Tells a batch's new events from relay repeats by stream version: one row per (group, topic, stream)
    holding the newest version applied, raised in the batch's transaction by one upsert that returns,
    per stream it raised, the version stored before it. An event is new when its version is above that
    and above every version of its stream taken earlier in the batch.

    The upsert takes each stream's row lock (in a fixed order: no deadlock between two members) and
    compares against the row as committed, so a member that got a partition a moment ago and reads the
    records another member is still committing waits for that commit and then sees them as repeats.
    Events of a stream rejected by the handler (dead-lettered) raise the version too, as their marks did."""

    def __init__(self, schema: str, group_id: str):
        self.group_id = group_id
        # the rows in a fixed order (the streams' row locks: no deadlock between two members)
        self._raise = (
            f"INSERT INTO {quoted_schema(schema)}.stream_versions AS sv (group_id, topic, stream_id, version)"
            " SELECT %s, t, s, v FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS b(t, s, v) ORDER BY t, s"
            " ON CONFLICT (group_id, topic, stream_id) DO UPDATE"
            " SET previous_version = sv.version, version = EXCLUDED.version WHERE sv.version < EXCLUDED.version"
            " RETURNING topic, stream_id, previous_version")

    def first_sightings(self, conn: Connection, readable, outcome: "BatchOutcome"):
        if not readable:
            return []
        newest: dict[tuple[str, str], int] = {}
        keys = []
        for record, envelope in readable:
            key = (record.topic, envelope.stream_id)
            keys.append(key)
            if envelope.stream_version > newest.get(key, 0):
                newest[key] = envelope.stream_version
        # on the driver's cursor: a tuple per returned row, not a SQLAlchemy Row (a batch returns a row per stream)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self._raise, (self.group_id, [t for t, _ in newest], [s for _, s in newest], list(newest.values())))
            applied_up_to = {(topic, stream): before for topic, stream, before in cursor.fetchall()}
        finally:
            cursor.close()
        fresh = []
        for key, pair in zip(keys, readable):
            before = applied_up_to.get(key)
            version = pair[1].stream_version
            if before is not None and version > before:
                applied_up_to[key] = version
                fresh.append(pair)
            else:
                outcome.duplicates += 1
        return fresh


class EventIdMarks:
    """Tells a batch's new events from repeats by event id: one ``processed_events`` row per event, inserted
    in the batch's transaction; the ones the insert returns are new (once each). Exact whatever the order
    of the records; the row count grows with every event."""

    def __init__(self, schema: str, group_id: str):
        self.group_id = group_id
        self._mark_many = sa.text(
            f"INSERT INTO {quoted_schema(schema)}.processed_events (group_id, event_id)"
            " SELECT :g, CAST(id AS uuid) FROM unnest(CAST(:ids AS text[])) AS id"
            " ON CONFLICT DO NOTHING RETURNING CAST(event_id AS text)")  # text: no uuid objects to build

    def first_sightings(self, conn: Connection, readable, outcome: "BatchOutcome"):
        if not readable:
            return []
        ids = [str(envelope.event_id) for _, envelope in readable]
        new = set(conn.execute(self._mark_many, {"g": self.group_id, "ids": ids}).scalars())
        fresh = []
        for key, (record, envelope) in zip(ids, readable):
            if key in new:
                new.discard(key)
                fresh.append((record, envelope))
            else:
                outcome.duplicates += 1
        return fresh


class ProjectionApplier:
    """Applies records to a projection inside a caller's transaction. No Kafka consumer here
    (tests and benchmarks drive it directly); the consumer below drives it in every projection process."""

    def __init__(self, schema: str, group_id: str, handler: ProjectionHandler | None,
                 registry: EventTypeRegistry | None, dead_letters: DeadLetterPublisher,
                 batch_handler: BatchHandler | None = None, dedupe: str = DEDUPE_BY_STREAM_VERSION):
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        if dedupe not in (DEDUPE_BY_STREAM_VERSION, DEDUPE_BY_EVENT_ID):
            raise ValueError(f"unknown dedupe {dedupe!r}")
        self.schema = quoted_schema(schema)
        self.group_id = group_id
        self.batch_handler = batch_handler or _one_at_a_time(handler)
        self.registry = registry
        self.dead_letters = dead_letters
        self.repeats = (EventIdMarks if dedupe == DEDUPE_BY_EVENT_ID else StreamVersionGuard)(schema, group_id)
        self.offsets = ConsumerOffsets(schema, group_id)
        self._undelivered = sa.text(
            f"INSERT INTO {self.schema}.undelivered_dead_letters"
            ' (group_id, topic, partition, "offset", reason, value_size, value_sha256, error)'
            " VALUES (:g, :t, :p, :o, :r, :n, :h, :e)")

    def apply(self, conn: Connection, records: Iterable[ConsumedRecord]) -> BatchOutcome:
        """Apply a batch: skip repeats in one statement, apply the new events under one
        savepoint, and store the next offsets. An event the handler rejects sends the batch
        down the slow path (a savepoint per event) so only that event is dead-lettered."""
        outcome = BatchOutcome()
        records = list(records)
        readable: list[tuple[ConsumedRecord, EventEnvelope]] = []
        for record in records:
            envelope = self._parse(conn, record, outcome)
            if envelope is not None:
                readable.append((record, envelope))
        fresh = self.repeats.first_sightings(conn, readable, outcome)
        if fresh:
            try:
                with conn.begin_nested():
                    self.batch_handler(conn, [envelope for _, envelope in fresh])
            except REJECTIONS:
                fresh = self._apply_one_by_one(conn, fresh, outcome)
            self._count_applied([envelope for _, envelope in fresh], outcome)
        self.offsets.store(conn, self.offsets.after(records))
        return outcome

    def _parse(self, conn: Connection, record: ConsumedRecord, outcome: BatchOutcome) -> EventEnvelope | None:
        try:
            if record.value is None:
                raise PlatformError("empty message (no value)")
            envelope = EventEnvelope.from_bytes(record.value)
            if self.registry is None:
                return envelope
            # A payload breaking its contract is malformed too: dead-lettered, never half-applied.
            return self.registry.readable(envelope)
        except PlatformError as exc:
            self._dead_letter(record, f"unreadable: {exc.message}", outcome, conn)
            return None

    def _apply_one_by_one(self, conn: Connection, fresh, outcome: BatchOutcome):
        applied = []
        for record, envelope in fresh:
            savepoint = conn.begin_nested()
            try:
                self.batch_handler(conn, [envelope])
                savepoint.commit()
                applied.append((record, envelope))
            except REJECTIONS as exc:
                # The event itself is unusable for this projection; infrastructure errors propagate.
                savepoint.rollback()
                self._dead_letter(record, f"rejected: {type(exc).__name__}: {exc}", outcome, conn)
        return applied

    def _count_applied(self, envelopes: list[EventEnvelope], outcome: BatchOutcome) -> None:
        now = datetime.now(timezone.utc)
        outcome.applied += len(envelopes)
        EVENTS_PROJECTED.labels(group=self.group_id).inc(len(envelopes))
        observe_all(PROJECTION_FRESHNESS.labels(group=self.group_id),
                    [max(0.0, (now - envelope.recorded_at).total_seconds()) for envelope in envelopes])

    def _dead_letter(self, record: ConsumedRecord, reason: str, outcome: BatchOutcome, conn: Connection) -> None:
        letter = DeadLetter(self.group_id, record.topic, record.partition, record.offset, reason, record.value)
        try:
            self.dead_letters.publish(letter)
        except DeadLetterUndeliverable as exc:
            # Retrying would jam the partition for good: the record is kept in PostgreSQL, in the batch's
            # transaction (with its offsets), skipped, and counted for an alert.
            self._record_undelivered(conn, letter, str(exc))
        outcome.dead_lettered += 1

    def _record_undelivered(self, conn: Connection, letter: DeadLetter, error: str) -> None:
        value = letter.value or b""
        conn.execute(self._undelivered, {
            "g": letter.group, "t": letter.topic, "p": letter.partition, "o": letter.offset,
            "r": letter.reason[:1000], "n": len(value), "h": hashlib.sha256(value).hexdigest(), "e": error[:1000]})
        DEAD_LETTERS_UNDELIVERED.labels(group=letter.group).inc()
        log.error("could not dead-letter a message; recorded in undelivered_dead_letters and skipped", extra={
            "group": letter.group, "topic": letter.topic, "partition": letter.partition, "offset": letter.offset,
            "reason": letter.reason, "error": error})

    def stored_offsets(self, conn: Connection) -> dict[tuple[str, int], int]:
        return self.offsets.stored(conn)

    def after_commit(self) -> None:
        pass


def _one_at_a_time(handler: ProjectionHandler) -> BatchHandler:
    def apply_each(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        for envelope in envelopes:
            handler(conn, envelope)

    return apply_each


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, projection: "ProjectionConsumer"):
        self.projection = projection

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        self.projection.seek_to_stored(assigned)


class ProjectionConsumer:
    """A Kafka consumer group member that keeps one projection effectively once."""

    def __init__(self, engine: Engine, bootstrap: str, topics: list[str], applier: Applier,
                 max_records: int = 500):
        self.engine = engine
        self.applier = applier
        self.topics = topics
        self.max_records = max_records
        self.consumer = KafkaConsumer(
            **kafka_options(bootstrap), group_id=applier.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", client_id=f"projection-{applier.group_id}",
            max_poll_records=max_records, metadata_max_age_ms=METADATA_MAX_AGE_MS,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
        self.failed = False  # set when run() met an error it does not retry (then the process stops)
        self._learn_partitions(topics)
        self.consumer.subscribe(topics, listener=_SeekToStoredOffsets(self))
        self._lag_reported_at = 0.0
        self._idle_work_at = 0.0

    def _learn_partitions(self, topics: list[str]) -> None:
        """Fetch the topics' partitions before joining the group.

        kafka-python drops the metadata update that ``subscribe`` asks for when its bootstrap metadata
        request is still in flight; a group joined then gets no partitions until the next periodic
        refresh (5 minutes by default). Knowing the partitions first closes that window; the shorter
        ``metadata_max_age_ms`` bounds any other such stall.
        """
        for topic in topics:
            if not self.consumer.partitions_for_topic(topic):
                log.warning("topic %s has no partitions yet (run `campaign topics`); the projection "
                            "picks it up within %d s of its creation", topic, METADATA_MAX_AGE_MS // 1000)

    def seek_to_stored(self, partitions) -> None:
        with self.engine.connect() as conn:
            stored = self.applier.stored_offsets(conn)
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    def poll_once(self, timeout_ms: int = 500) -> BatchOutcome:
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        records = [
            ConsumedRecord(r.topic, r.partition, r.offset, r.value, tuple(r.headers or ()), r.key)
            for tp_records in batches.values() for r in tp_records
        ]
        if not records:
            self._report_lag()  # caught up: the gauge must say 0, not the last busy batch's lag
            # What a crash left between a commit and its after-commit work is done on an idle poll too.
            if time.monotonic() - self._idle_work_at >= IDLE_AFTER_COMMIT_S:
                self._idle_work_at = time.monotonic()
                self.applier.after_commit()
            return BatchOutcome()
        try:
            with self.engine.begin() as conn:
                outcome = self.applier.apply(conn, records)
        except Exception:
            # Nothing of the batch committed: go back to its first records and retry. Not via the
            # stored offsets: reading them needs the database, which may be what failed, and a
            # failed seek would leave the position past the batch (its events silently skipped).
            self.rewind(records)
            raise
        self.applier.after_commit()
        self._report_lag()
        return outcome

    def rewind(self, records: list[ConsumedRecord]) -> None:
        """Seek each partition of a failed batch back to the batch's first record on it."""
        first: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            first[key] = min(first.get(key, record.offset), record.offset)
        assigned = self.consumer.assignment()
        for (topic, partition), offset in first.items():
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                self.consumer.seek(tp, offset)

    def _report_lag(self, every_seconds: float = 5.0) -> None:
        # end_offsets is a broker round trip: not on every batch.
        assignment = self.consumer.assignment()
        if not assignment or time.monotonic() - self._lag_reported_at < every_seconds:
            return
        self._lag_reported_at = time.monotonic()
        ends = self.consumer.end_offsets(list(assignment))
        for tp in assignment:
            position = self.consumer.position(tp)
            CONSUMER_LAG.labels(group=self.applier.group_id, topic=tp.topic, partition=tp.partition).set(
                max(0, ends.get(tp, position) - position))

    def run(self, stop: threading.Event) -> None:
        log.info("projection consumer running", extra={"group": self.applier.group_id, "topics": self.topics})
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                # the database went away: SQLAlchemy's wrappers, or psycopg2's own from the batched COPY-like
                # inserts that run on the raw DBAPI cursor (adapters' insert_values)
                except (sa.exc.DBAPIError, psycopg2.OperationalError, psycopg2.InterfaceError):
                    log.exception("database unavailable; retrying the batch")
                    stop.wait(1.0)
                except KafkaError as exc:
                    # The broker went away (poll raises e.g. KafkaConnectionError while it finds no
                    # coordinator): nothing of a batch was applied; poll again once it is back. Letting
                    # it out ended the thread, and the process with it (fault suite, broker kill).
                    log.warning("Kafka unavailable; polling again: %s", exc)
                    stop.wait(1.0)
                except Exception:
                    # Anything else is a defect of this process (a handler's bug, a broken invariant): retried,
                    # it would fail the same way for good; swallowed with the thread, the process would look
                    # alive while this projection stood still. So every thread of the process stops, and the
                    # process exits non-zero (run_projections): its supervisor sees it and restarts it, and
                    # PlatformWorkerDown fires meanwhile. The failed batch committed nothing.
                    log.exception("projection failed; stopping the process", extra={"group": self.applier.group_id})
                    self.failed = True
                    stop.set()
        finally:
            self.consumer.close()


@dataclass(frozen=True)
class ProjectionSpec:
    """One projection a service keeps: its consumer group, topics and handler.

    ``name`` is what an operator selects it by (``campaign consume SERVICE --projection NAME``: one
    process per projection where they run with different rights, or several processes of one).
    ``on_start``, if any, runs once in the projection's process before it consumes: what the projection
    needs first (its tables) or what belongs beside it (the audit log's checkpoint schedule).
    """

    group_id: str
    topics: tuple[str, ...]
    handler: ProjectionHandler | None = None
    registry: EventTypeRegistry | None = None
    batch_handler: BatchHandler | None = None
    name: str = ""
    on_start: Callable[[], None] | None = None
    dedupe: str = DEDUPE_BY_STREAM_VERSION  # or DEDUPE_BY_EVENT_ID (ProjectionApplier)

    def applier(self, schema: str, dead_letters: DeadLetterPublisher, producer) -> ProjectionApplier:
        return ProjectionApplier(schema, self.group_id, self.handler, self.registry, dead_letters,
                                 batch_handler=self.batch_handler, dedupe=self.dedupe)


class ConsumerSpec(Protocol):
    """What ``run_projections`` runs: a group, its topics, and the applier it builds (ProjectionSpec, the
    intake's IntakeSpec)."""

    group_id: str
    topics: tuple[str, ...]
    name: str  # what `campaign consume SERVICE --projection NAME` selects
    on_start: Callable[[], None] | None

    def applier(self, schema: str, dead_letters: DeadLetterPublisher, producer) -> Applier: ...


class ProjectionFailed(Exception):
    """A projection met an error it does not retry; the process running it must exit non-zero."""


def run_projections(engine: Engine, bootstrap: str, schema: str, specs: list[ConsumerSpec],
                    stop: threading.Event) -> None:
    """Run each projection (and the service's intake) in its own thread until ``stop`` is set; raise
    ``ProjectionFailed`` when one of them stopped them all (``ProjectionConsumer.run``)."""
    from .kafka_io import create_producer, when_reachable

    producer = when_reachable(lambda: create_producer(bootstrap, f"{schema}-dead-letters"), stop,
                              f"{schema}'s dead letters")
    if producer is None:
        return
    threads, consumers = [], []
    for spec in specs:
        applier = spec.applier(schema, DeadLetterPublisher(producer), producer)
        consumer = when_reachable(lambda: ProjectionConsumer(engine, bootstrap, list(spec.topics), applier), stop,
                                  f"the projection {spec.group_id}")
        if consumer is None:
            break
        if spec.on_start is not None:
            spec.on_start()
        thread = threading.Thread(target=consumer.run, args=(stop,), name=spec.group_id, daemon=True)
        thread.start()
        threads.append(thread)
        consumers.append(consumer)
    for thread in threads:
        thread.join()
    producer.close(timeout=10)
    failed = [consumer.applier.group_id for consumer in consumers if consumer.failed]
    if failed:
        raise ProjectionFailed(f"stopped by a failure of {', '.join(failed)} (see the log above)")


__all__ = ["Applier", "DEDUPE_BY_EVENT_ID", "DEDUPE_BY_STREAM_VERSION", "EventIdMarks", "PROGRESS_TABLES", "StreamVersionGuard", "forget_progress", "ConsumerOffsets", "ConsumerSpec", "ProjectionFailed", "ProjectionSpec", "run_projections", "BatchOutcome", "ConsumedRecord", "ProjectionApplier", "ProjectionConsumer", "TopicPartition"]
