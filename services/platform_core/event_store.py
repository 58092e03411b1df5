"""Append-only event store in PostgreSQL, with its outbox row in the same transaction.

Optimistic concurrency: the caller says which stream version it decided on;
``UNIQUE(stream_id, stream_version)`` turns a lost race into ConcurrencyConflict,
never a silent overwrite. Idempotency keys make a repeated command return the
first result and write nothing.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from . import clock
from .db import quoted_schema
from .envelope import Actor, EventEnvelope
from .errors import ConcurrencyConflict, IdempotencyKeyReused, PayloadTooLarge
from .event_types import EventTypeRegistry
from .metrics import EVENTS_APPENDED


PREPARED_MAX_EVENTS = 8  # appends of up to this many events use a prepared statement (see _execute_append)


@dataclass(frozen=True)
class NewEvent:
    """An event a decision produced, before the store gives it an id and a version."""

    type: str
    payload: dict[str, Any]
    occurred_at: datetime | None = None  # business time; imports may back-date it
    # Given when a command's idempotency key must name events of several appends (claim_idempotency_key).
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AppendResult:
    events: list[EventEnvelope]
    replayed: bool = False  # True when an idempotency key matched an earlier command

    @property
    def last_version(self) -> int:
        return self.events[-1].stream_version if self.events else 0


@dataclass
class _Tables:
    events: sa.Table
    outbox: sa.Table
    idempotency_keys: sa.Table
    metadata: sa.MetaData = field(repr=False)


def _tables(schema: str) -> _Tables:
    md = sa.MetaData(schema=schema)
    events = sa.Table(
        "events", md,
        sa.Column("global_position", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.Uuid), sa.Column("stream_id", sa.Text),
        sa.Column("stream_version", sa.Integer), sa.Column("type", sa.Text),
        sa.Column("schema_version", sa.Integer),
        sa.Column("occurred_at", sa.DateTime(timezone=True)),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        sa.Column("actor", sa.JSON), sa.Column("payload", sa.JSON),
        sa.Column("canonical", sa.LargeBinary),
    )
    outbox = sa.Table(
        "outbox", md,
        sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("event_id", sa.Uuid),
        sa.Column("topic", sa.Text), sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    keys = sa.Table(
        "idempotency_keys", md,
        sa.Column("idempotency_key", sa.Text, primary_key=True), sa.Column("request_hash", sa.Text),
        sa.Column("stream_id", sa.Text), sa.Column("event_ids", sa.ARRAY(sa.Uuid)),
    )
    return _Tables(events, outbox, keys, md)


def request_fingerprint(*parts: Any) -> str:
    """A stable hash of a command, to tell a true retry from a reused key."""
    text = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EventStore:
    """One service's event store: its schema, its topic, its event types."""

    def __init__(self, engine: Engine, schema: str, topic: str, registry: EventTypeRegistry,
                 max_payload_bytes: int = 64 * 1024):
        self.engine = engine
        self.schema = quoted_schema(schema)
        self.topic = topic
        self.registry = registry
        self.max_payload_bytes = max_payload_bytes
        self.tables = _tables(self.schema)
        # Prepared statements are per connection: the name tells this store's schema apart.
        self._statement_suffix = hashlib.sha1(self.schema.encode()).hexdigest()[:12]
        # Built once: a select built per call cost as much client CPU as its round trip.
        events = self.tables.events
        self._stream_version = sa.select(sa.func.max(events.c.stream_version)).where(
            events.c.stream_id == sa.bindparam("stream_id"))
        self._read_stream = sa.select(events.c.canonical).where(
            events.c.stream_id == sa.bindparam("stream_id")).order_by(events.c.stream_version)

    # -- writing -----------------------------------------------------------------
    def append(self, stream_id: str, expected_version: int, events: Sequence[NewEvent], actor: Actor,
               idempotency_key: str | None = None, fingerprint: str | None = None) -> AppendResult:
        """Append in a transaction of its own (see ``append_in`` to join a caller's)."""
        if idempotency_key is not None:  # the fingerprint only tells a retry from a reused key
            fingerprint = fingerprint or request_fingerprint(stream_id, [(e.type, e.payload) for e in events])
        try:
            with self.engine.begin() as conn:
                result = self.append_in(conn, stream_id, expected_version, events, actor,
                                        idempotency_key, fingerprint)
        except IntegrityError as exc:
            return self._resolve_integrity_error(exc, stream_id, expected_version, idempotency_key, fingerprint)
        self.count_committed(result)
        return result

    def count_committed(self, result: AppendResult) -> None:
        """Metrics after the commit (callers of ``append_in`` call it after theirs)."""
        if not result.replayed:
            for envelope in result.events:
                EVENTS_APPENDED.labels(service=self.schema, type=envelope.type).inc()

    def append_in(self, conn: Connection, stream_id: str, expected_version: int, events: Sequence[NewEvent],
                  actor: Actor, idempotency_key: str | None = None, fingerprint: str | None = None) -> AppendResult:
        """Validate everything first, then write events, outbox rows and the key.

        Nothing is written when any event is invalid. A race lost at the unique
        constraint surfaces as IntegrityError; ``append`` maps it.
        """
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        if not events:
            raise ValueError("append needs at least one event")
        if idempotency_key is not None:
            fingerprint = fingerprint or request_fingerprint(stream_id, [(e.type, e.payload) for e in events])
            earlier = self.earlier_result(conn, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        built = self._envelopes(stream_id, expected_version, events, actor)
        envelopes = [envelope for envelope, _ in built]
        if idempotency_key is not None:
            # The key before the version check: a concurrent twin waits on it, then finds this result.
            self.claim_idempotency_key(conn, idempotency_key, fingerprint, stream_id,
                                       [e.event_id for e in envelopes])
        # One round trip: the version check, the events and their outbox rows. No NOTIFY for the
        # relay: PostgreSQL serializes the commits of notifying transactions; the relay polls.
        found = self._execute_append(conn, stream_id, expected_version, built)
        if found.queued != len(envelopes):
            raise ConcurrencyConflict(
                f"stream {stream_id} is at version {found.current_version}, the command expected {expected_version}",
                field="expected_version")
        return AppendResult(envelopes)

    def claim_idempotency_key(self, conn: Connection, key: str, fingerprint: str, stream_id: str,
                              event_ids: Sequence[uuid.UUID]) -> None:
        """Record a command's key with every event id it writes: once, never updated (the service's
        role may only INSERT keys). A command spanning streams claims it before its first append, with
        the ids it gave its NewEvents, and appends without a key."""
        conn.execute(self.tables.idempotency_keys.insert().values(
            idempotency_key=key, request_hash=fingerprint, stream_id=stream_id, event_ids=list(event_ids)))

    def append_new_streams_in(self, conn: Connection, streams: Sequence[tuple[str, Sequence[NewEvent]]],
                              actor: Actor) -> list[EventEnvelope]:
        """Start many new streams at once inside the caller's transaction (bulk imports).

        Every stream must be new (its events get versions 1..n); a stream that
        already exists fails the whole batch at ``UNIQUE(stream_id, stream_version)``.
        Rows go in with executemany, one outbox row per event, one notification.
        """
        built = [pair for stream_id, events in streams for pair in self._envelopes(stream_id, 0, events, actor)]
        if not built:
            return []
        envelopes = [envelope for envelope, _ in built]
        t = self.tables
        rows = []
        for envelope, canonical in built:
            rows.append({"event_id": envelope.event_id, "stream_id": envelope.stream_id,
                         "stream_version": envelope.stream_version, "type": envelope.type,
                         "schema_version": envelope.schema_version, "occurred_at": envelope.occurred_at,
                         "recorded_at": envelope.recorded_at, "actor": envelope.actor.model_dump(),
                         "payload": envelope.payload, "canonical": canonical})
        conn.execute(t.events.insert(), rows)
        conn.execute(t.outbox.insert(), [{"event_id": e.event_id, "topic": self.topic} for e in envelopes])
        return envelopes

    def _envelopes(self, stream_id: str, expected_version: int, events: Sequence[NewEvent],
                   actor: Actor) -> list[tuple[EventEnvelope, bytes]]:
        """The envelopes with their canonical bytes (rendered once: the size check and the row use them)."""
        now = clock.now()
        envelopes = []
        for offset, event in enumerate(events, start=1):
            version, payload = self.registry.validate_payload(event.type, event.payload)
            envelope = EventEnvelope(
                event_id=event.event_id or uuid.uuid4(), type=event.type, schema_version=version, stream_id=stream_id,
                stream_version=expected_version + offset, occurred_at=event.occurred_at or now,
                recorded_at=now, actor=actor, payload=payload)
            canonical = envelope.canonical_bytes()
            if len(canonical) > self.max_payload_bytes:
                raise PayloadTooLarge(
                    f"{event.type} is {len(canonical)} bytes; the limit is {self.max_payload_bytes}",
                    field="payload")
            envelopes.append((envelope, canonical))
        return envelopes

    def _execute_append(self, conn: Connection, stream_id: str, expected_version: int,
                        built: list[tuple[EventEnvelope, bytes]]):
        """The append statement, prepared once per database connection and per event count.

        Parsing and planning the statement cost about a third of PostgreSQL's CPU per command
        (measured: 0.87 -> 0.55-0.70 ms per append). A prepared statement lives as long as its
        connection and survives rollbacks; the pool clears ``info`` when it reconnects, so a new
        connection prepares again. (A transaction-mode pooler in front would break this.) Appends of
        more than PREPARED_MAX_EVENTS events are rare and run unprepared, so a connection holds at
        most that many statements per store and no statement nears PostgreSQL's parameter limit.
        """
        values: list[Any] = [stream_id, expected_version, self.topic]
        for envelope, canonical in built:
            values += [str(envelope.event_id), envelope.stream_version, envelope.type, envelope.schema_version,
                       envelope.occurred_at, envelope.recorded_at,
                       json.dumps({"department": envelope.actor.department, "user": envelope.actor.user}),
                       json.dumps(envelope.payload), canonical]
        if len(built) > PREPARED_MAX_EVENTS:
            statement = self._append_sql(len(built), lambda n: f"%(p{n})s")
            return conn.exec_driver_sql(statement, {f"p{n}": v for n, v in enumerate(values, start=1)}).one()
        name = f"event_store_append_{len(built)}_{self._statement_suffix}"
        prepared = conn.connection.info.setdefault("event_store_prepared", set())
        if name not in prepared:
            conn.exec_driver_sql(f"PREPARE {name} AS {self._append_sql(len(built), lambda n: f'${n}')}")
            prepared.add(name)
        return conn.exec_driver_sql(f"EXECUTE {name} ({', '.join(['%s'] * len(values))})", tuple(values)).one()

    def _append_sql(self, count: int, placeholder) -> str:
        """The append: $1 stream id, $2 expected version, $3 topic, then 9 per event (typed by casts)."""
        types = ("uuid", "int", "text", "int", "timestamptz", "timestamptz", "jsonb", "jsonb", "bytea")
        rows = []
        for i in range(count):
            first = 4 + 9 * i
            cells = [f"CAST({placeholder(first + k)} AS {t})" for k, t in enumerate(types)]
            rows.append(f"({cells[0]}, CAST({placeholder(1)} AS text), {', '.join(cells[1:])})")
        s = self.schema
        return f"""
            WITH current AS (
                SELECT coalesce(max(stream_version), 0) AS version FROM {s}.events
                WHERE stream_id = CAST({placeholder(1)} AS text)
            ), inserted AS (
                INSERT INTO {s}.events (event_id, stream_id, stream_version, type, schema_version,
                                        occurred_at, recorded_at, actor, payload, canonical)
                SELECT new.* FROM (VALUES {", ".join(rows)}) AS new, current
                WHERE current.version = CAST({placeholder(2)} AS int)
                RETURNING event_id, stream_version
            ), queued AS (
                INSERT INTO {s}.outbox (event_id, topic)
                SELECT event_id, CAST({placeholder(3)} AS text) FROM inserted ORDER BY stream_version RETURNING id
            )
            SELECT (SELECT version FROM current) AS current_version, (SELECT count(*) FROM queued) AS queued"""

    def earlier_result(self, conn: Connection, key: str | None, fingerprint: str) -> AppendResult | None:
        """The first result of a command with this idempotency key, or None when the key is new.

        Handlers call it before deciding, so a retry answers with its first result even
        when deciding again would now refuse (e.g. "already registered").
        """
        if key is None:
            return None
        t = self.tables
        row = conn.execute(sa.select(t.idempotency_keys).where(t.idempotency_keys.c.idempotency_key == key)).first()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different request", field="Idempotency-Key")
        rows = conn.execute(sa.select(t.events.c.canonical).where(t.events.c.event_id.in_(row.event_ids))
                            .order_by(t.events.c.stream_version)).all()
        return AppendResult([EventEnvelope.from_bytes(r.canonical) for r in rows], replayed=True)

    def _resolve_integrity_error(self, exc: IntegrityError, stream_id: str, expected_version: int,
                                 idempotency_key: str | None, fingerprint: str | None) -> AppendResult:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if idempotency_key is not None and constraint in ("idempotency_keys_pkey", "events_stream_version_unique"):
            # A concurrent twin committed first: answer with its result.
            with self.engine.connect() as conn:
                earlier = self.earlier_result(conn, idempotency_key, fingerprint or "")
            if earlier is not None:
                return earlier
        if constraint == "events_stream_version_unique":
            raise ConcurrencyConflict(
                f"stream {stream_id} changed concurrently; version {expected_version + 1} is taken",
                field="expected_version") from exc
        raise exc

    # -- reading -----------------------------------------------------------------
    def stream_version(self, conn: Connection, stream_id: str) -> int:
        found = conn.execute(self._stream_version, {"stream_id": stream_id}).scalar()
        return found or 0

    def read_stream(self, stream_id: str, conn: Connection | None = None) -> list[EventEnvelope]:
        """A stream's events in order, upcast to their newest schema versions."""
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(self._read_stream, {"stream_id": stream_id}).all()
        else:
            rows = conn.execute(self._read_stream, {"stream_id": stream_id}).all()
        return [self.registry.upcast(EventEnvelope.from_bytes(row.canonical)) for row in rows]

    def read_all(self, conn: Connection, after_position: int = 0, limit: int = 1000) -> list[tuple[int, EventEnvelope]]:
        t = self.tables.events
        rows = conn.execute(sa.select(t.c.global_position, t.c.canonical)
                            .where(t.c.global_position > after_position)
                            .order_by(t.c.global_position).limit(limit)).all()
        return [(row.global_position, EventEnvelope.from_bytes(row.canonical)) for row in rows]
