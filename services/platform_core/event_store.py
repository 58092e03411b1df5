"""Append-only event store in PostgreSQL, with its outbox row in the same transaction.

Optimistic concurrency: the caller says which stream version it decided on;
``UNIQUE(stream_id, stream_version)`` turns a lost race into ConcurrencyConflict,
never a silent overwrite. Idempotency keys make a repeated command return the
first result and write nothing. ``execute`` runs a whole command: the key's look-up,
the decision, the append, the read model, the 409s and the metrics.
"""

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
import psycopg2
import psycopg2.extras
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.exc import IntegrityError

from . import clock
from .db import quoted_schema
from .envelope import Actor, EventEnvelope
from .errors import ConcurrencyConflict, IdempotencyKeyReused, PayloadTooLarge
from .event_types import EventTypeRegistry
from .events import Command, Decision, NewEvent, by_stream, lost_race
from .metrics import EVENTS_APPENDED


@dataclass
class JoinedTransaction:
    """A caller's transaction that the commands of this thread join, each in a savepoint; ``results`` collects
    what each command appended (or replayed), in order.

    ``batch_keys``: the idempotency keys the caller's commands will carry (the intake's ce_ids). The first
    command of a store looks them all up in one query; a command whose key was unclaimed then skips its own
    look-up (a key claimed meanwhile still fails at the claim's unique index, and is then looked up)."""

    conn: "StoreConnection"
    results: list["AppendResult"] = field(default_factory=list)
    batch_keys: frozenset[str] = frozenset()
    # A group commit counts the metrics after its commit; the intake's batches count at each command's end.
    counts_after_commit: bool = False
    unclaimed: dict[str, set[str]] = field(default_factory=dict)  # store schema -> batch keys found unclaimed
    # Set by a caller whose own savepoint wraps just the next command (the intake's): it rolls back to that
    # savepoint. The command's first ``execute`` then opens no savepoint of its own (two round trips fewer)
    # and calls it when a lost race must be read in a clean transaction.
    command_savepoint: Callable[[], None] | None = None

    def take_command_savepoint(self) -> Callable[[], None] | None:
        rollback, self.command_savepoint = self.command_savepoint, None
        return rollback

    def needs_look_up(self, store: "EventStore", conn: Connection, key: str) -> bool:
        if key not in self.batch_keys:
            return True
        unclaimed = self.unclaimed.get(store.schema)
        if unclaimed is None:
            unclaimed = self.unclaimed[store.schema] = store.unclaimed_keys(conn, self.batch_keys)
        if key in unclaimed:
            unclaimed.discard(key)  # a second command with this key in the batch looks it up
            return False
        return True


_JOINED: ContextVar[JoinedTransaction | None] = ContextVar("joined_transaction", default=None)

PREPARED_MAX_EVENTS = 8  # appends of up to this many events use a prepared statement (see _execute_append)
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class AppendResult:
    events: list[EventEnvelope]
    replayed: bool = False  # True when an idempotency key matched an earlier command

    @property
    def last_version(self) -> int:
        return self.events[-1].stream_version if self.events else 0


@dataclass(frozen=True)
class Executed(Generic[Answer]):
    """What ``EventStore.execute`` did: the events (written now, or by the command's first run) and the
    caller's answer, read in the same transaction."""

    result: AppendResult
    answer: Answer | None = None

    @property
    def replayed(self) -> bool:
        return self.result.replayed


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


def _fingerprint(stream_id: str, events: Sequence[NewEvent], key: str | None, given: str | None) -> str:
    """A bare append's fingerprint: the caller's, else the stream and its events (only a key needs one)."""
    if given or key is None:
        return given or ""
    return request_fingerprint(stream_id, [(e.type, e.payload) for e in events])


@contextmanager
def joined_transaction(conn: Connection, batch_keys: Iterable[str] = ()) -> Iterator[JoinedTransaction]:
    """Within this block ``EventStore.execute`` runs every command in a savepoint of ``conn`` instead of a
    transaction of its own: many commands commit together (the intake's group commit), a refused one rolls
    back alone, and the handlers that call ``execute`` stay exactly as HTTP runs them. The caller sets the
    connection's search_path to the service's schema, as the handlers' own transactions do. ``batch_keys``:
    see ``JoinedTransaction``."""
    joined = JoinedTransaction(conn, batch_keys=frozenset(batch_keys))
    token = _JOINED.set(joined)
    try:
        yield joined
    finally:
        _JOINED.reset(token)


def run_joined(joined: JoinedTransaction, run: Callable[[], Answer]) -> Answer:
    """``run()`` with its commands joining ``joined`` (a group commit runs each command so, in the command's
    own context)."""
    token = _JOINED.set(joined)
    try:
        return run()
    finally:
        _JOINED.reset(token)


@contextmanager
def _savepoint(conn: "StoreConnection") -> Iterator["StoreConnection"]:
    if isinstance(conn, Connection):
        with conn.begin_nested():
            yield conn
        return
    run_statement(conn, "SAVEPOINT event_store_nested")  # a bare DBAPI connection (``append``'s group)
    try:
        yield conn
    except BaseException:
        run_statement(conn, "ROLLBACK TO SAVEPOINT event_store_nested")
        raise
    run_statement(conn, "RELEASE SAVEPOINT event_store_nested")


# The store's own statements run on the DBAPI (psycopg2) connection under either: a SQLAlchemy Connection (the
# handlers' transaction, which decide/project share) or a bare pooled connection (``append``, no SQLAlchemy
# layer per transaction). Measured: SQLAlchemy's execute and result layer cost ~60 us of client CPU a statement.
StoreConnection = Connection | PoolProxiedConnection


def _dbapi(conn: StoreConnection) -> PoolProxiedConnection:
    return conn.connection if isinstance(conn, Connection) else conn


def run_statement(conn: StoreConnection, statement: str,
                  params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
    """Execute on the DBAPI cursor and fetch every row; psycopg2's errors become SQLAlchemy's (IntegrityError,
    OperationalError, ...) as from ``conn.execute``, so callers map races and outages in one way."""
    with _dbapi(conn).cursor() as cursor:
        try:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg2.Error as exc:
            raise _translated(conn, statement, exc, cursor) from exc


def insert_values(conn: StoreConnection, statement: str, rows: Sequence[Sequence[Any]], template: str,
                page_size: int = 1000) -> None:
    """A multi-row INSERT (``VALUES %s``) of ``rows`` on the DBAPI cursor, ``page_size`` rows a statement, inside
    the connection's transaction; psycopg2's errors become SQLAlchemy's, as ``run_statement``'s. For bulk writes:
    SQLAlchemy's insertmanyvalues binds and processes every row apart (docs/performance.md, "Figures behind
    the code")."""
    with _dbapi(conn).cursor() as cursor:
        try:
            psycopg2.extras.execute_values(cursor, statement, rows, template, page_size)
        except psycopg2.Error as exc:
            raise _translated(conn, statement, exc, cursor) from exc


def jsonb_text(value: Any) -> str:
    """JSON text for a JSONB parameter (PostgreSQL normalizes it: any valid encoding stores the same value)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (an integer past 64 bits) the standard encoder writes
        return json.dumps(value)


_DIALECT = PGDialect_psycopg2(dbapi=psycopg2)  # only its is_disconnect: which errors mean a lost connection


def _translated(conn: StoreConnection, statement: str, exc: psycopg2.Error, cursor=None) -> sa.exc.DBAPIError:
    """SQLAlchemy's exception for a psycopg2 error, after doing what SQLAlchemy does on a lost connection:
    invalidate it, so that the pool opens a new one instead of handing the dead one out again."""
    fairy = _dbapi(conn)
    lost = _DIALECT.is_disconnect(exc, fairy.dbapi_connection, cursor)
    if lost and fairy.is_valid:
        # SQLAlchemy's own reaction (Connection._handle_dbapi_exception): every connection the pool opened
        # before now is replaced at its next checkout (a restarted server closed them all), then this one goes.
        pool = getattr(fairy, "_pool", None)
        if pool is not None:
            pool._invalidate(fairy, exc, _checkin=False)
        conn.invalidate(exc)
    return sa.exc.DBAPIError.instance(statement, None, exc, psycopg2.Error, hide_parameters=True,
                                      connection_invalidated=lost)


@contextmanager
def _pooled_transaction(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A transaction on a pooled DBAPI connection, committed on success, rolled back on failure."""
    raw = engine.raw_connection()
    try:
        try:
            yield raw
            raw.commit()
        except psycopg2.Error as exc:
            _rollback_quietly(raw)
            raise _translated(raw, "COMMIT", exc) from exc
        except BaseException:
            _rollback_quietly(raw)
            raise
    finally:
        raw.close()  # back to the pool (or dropped, when invalidated)


def _rollback_quietly(raw: PoolProxiedConnection) -> None:
    if not raw.is_valid:
        return
    try:
        raw.rollback()
    except psycopg2.Error as exc:
        raw.invalidate(exc)  # the connection is gone: the pool must not hand it out again


def _joined_saw(executed: "Executed") -> "Executed":
    joined = _JOINED.get()
    if joined is not None:
        joined.results.append(executed.result)
    return executed


class EventStore:
    """One service's event store: its schema, its topic, its event types."""

    def __init__(self, engine: Engine, schema: str, topic: str, registry: EventTypeRegistry,
                 max_payload_bytes: int = 64 * 1024, group_commit_max: int = 1, group_commit_executing: int = 1):
        self.engine = engine
        # Up to this many concurrent commands of this process commit in one transaction (1: each alone), with
        # up to ``group_commit_executing`` groups running their commands at once; platform_core.group_commit.
        self.group_commit_max = group_commit_max
        self.group_commit_executing = group_commit_executing
        self._groups: dict[str, Any] = {}
        self._groups_lock = threading.Lock()
        self.schema = quoted_schema(schema)
        self.topic = topic
        self.registry = registry
        self.max_payload_bytes = max_payload_bytes
        self.tables = _tables(self.schema)
        # Prepared statements are per connection: the name tells this store's schema apart.
        self._statement_suffix = hashlib.sha1(self.schema.encode()).hexdigest()[:12]
        # Built once: a select built per call cost as much client CPU as its round trip.
        events = self.tables.events
        self._read_stream = sa.select(events.c.canonical).where(
            events.c.stream_id == sa.bindparam("stream_id")).order_by(events.c.stream_version)

    # -- transactions --------------------------------------------------------------
    @property
    def search_path(self) -> str:
        """The statement that makes a transaction's unqualified table names this store's schema (then
        ``public``): plain driver SQL, as a text() clause built per command cost more Python than the statement."""
        return f"SET LOCAL search_path TO {self.schema}, public"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction whose unqualified table names are this store's schema (``search_path``)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.search_path)
            yield conn

    def _pooled(self) -> AbstractContextManager[PoolProxiedConnection]:
        return _pooled_transaction(self.engine)

    def _group_for(self, transaction: Callable[[], AbstractContextManager[Any]] | None) -> Any:
        """The group commit of this kind of transaction (None: this kind is not grouped)."""
        if transaction is None:
            kind, transaction = "engine", self.engine.begin
        elif transaction == self.begin:
            kind = "search_path"
        elif transaction == self._pooled:
            kind = "pooled"
        else:
            return None
        group = self._groups.get(kind)
        if group is None:
            from .group_commit import GroupCommit  # it builds on this module
            with self._groups_lock:
                group = self._groups.setdefault(kind, GroupCommit(
                    self.schema, transaction, self.count_committed, self.group_commit_max,
                    self.group_commit_executing))
        return group

    # -- writing -----------------------------------------------------------------
    def execute(self, command: Command, decide: Callable[[Connection], Decision],
                project: Callable[[Connection, AppendResult], Answer] | None = None,
                replay: Callable[[Connection, AppendResult], Answer] | None = None,
                explain_unique: Callable[[Connection], None] | None = None,
                transaction: Callable[[], AbstractContextManager[Connection]] | None = None) -> Executed[Answer]:
        """One command, in one transaction (``transaction``, default ``engine.begin``; ``self.begin`` for the
        store's schema as search_path). With ``group_commit_max`` > 1, commands that run at the same moment in
        this process share one transaction, each in a savepoint (platform_core.group_commit): the outcome of
        each is the same as alone.

        1. the idempotency key is looked up once; a repeat answers ``replay(conn, first result)`` before
           any rule is checked again (deciding again might now refuse, e.g. "already registered");
        2. ``decide(conn)`` loads, checks and decides (raising a PlatformError refuses, nothing written);
        3. the key is claimed with every event id, then each stream's events are appended with their
           outbox rows (``Decision`` says at which version);
        4. ``project(conn, result)`` updates the service's read model and returns its answer;
        5. after the commit, the appended events are counted.

        Inside ``joined_transaction(conn)`` the transaction is a savepoint of ``conn`` (so step 5 counts at its
        release, before the caller's commit).

        A race lost at a constraint becomes: the first result of a concurrent twin (same key), or a 409
        (``command.conflict``) for a stream version or a unique value taken, after ``explain_unique``
        (in a new transaction) had the chance to name the holder with a better 409."""
        if self.group_commit_max > 1 and _JOINED.get() is None:
            group = self._group_for(transaction)
            if group is not None:
                return group.run(lambda: self._execute(command, decide, project, replay, explain_unique,
                                                       transaction))
        return self._execute(command, decide, project, replay, explain_unique, transaction)

    def _execute(self, command: Command, decide: Callable[[Connection], Decision],
                 project: Callable[[Connection, AppendResult], Answer] | None,
                 replay: Callable[[Connection, AppendResult], Answer] | None,
                 explain_unique: Callable[[Connection], None] | None,
                 transaction: Callable[[], AbstractContextManager[Connection]] | None) -> Executed[Answer]:
        joined = _JOINED.get()
        back_to_callers_savepoint = None
        if joined is not None:
            transaction = lambda: _savepoint(joined.conn)  # noqa: E731
            back_to_callers_savepoint = joined.take_command_savepoint()
        transaction = transaction or self.engine.begin
        first = transaction if back_to_callers_savepoint is None else (lambda: nullcontext(joined.conn))
        key = command.idempotency_key
        try:
            with first() as conn:
                if joined is None or key is None or joined.needs_look_up(self, conn, key):
                    earlier = self.earlier_result(conn, key, command.fingerprint)
                    if earlier is not None:
                        return _joined_saw(Executed(earlier, replay(conn, earlier) if replay is not None else None))
                result = self._append_decision(conn, decide(conn), command)
                answer = project(conn, result) if project is not None else None
        except IntegrityError as exc:
            if back_to_callers_savepoint is not None:
                back_to_callers_savepoint()  # the aborted transaction, clean again for the reads below
            diag = getattr(exc.orig, "diag", None)
            race = lost_race(getattr(diag, "constraint_name", "") or "", getattr(exc.orig, "pgcode", "") or "",
                             key is not None)
            if race == "twin":
                with transaction() as conn:
                    earlier = self.earlier_result(conn, key, command.fingerprint)
                    if earlier is not None:
                        return _joined_saw(Executed(earlier, replay(conn, earlier) if replay is not None else None))
                race = "version"  # the key's row is not there: the stream version was taken
            if race == "unique" and explain_unique is not None:
                with transaction() as conn:
                    explain_unique(conn)
            if race == "other":
                raise
            raise command.conflict_error() from exc
        if joined is None or not joined.counts_after_commit:
            self.count_committed(result)
        return _joined_saw(Executed(result, answer))

    def append(self, stream_id: str, expected_version: int, events: Sequence[NewEvent], actor: Actor,
               idempotency_key: str | None = None, fingerprint: str | None = None) -> AppendResult:
        """Append in a transaction of its own on a pooled DBAPI connection (see ``append_in`` to join a
        caller's)."""
        command = Command(actor, _fingerprint(stream_id, events, idempotency_key, fingerprint), idempotency_key,
                          f"stream {stream_id} changed concurrently; version {expected_version + 1} is taken")
        return self.execute(command, lambda _: Decision(events, stream_id, expected_version),
                            transaction=self._pooled).result

    def count_committed(self, result: AppendResult) -> None:
        """Metrics after the commit (callers of ``append_in`` call it after theirs)."""
        if not result.replayed:
            for envelope in result.events:
                EVENTS_APPENDED.labels(service=self.schema, type=envelope.type).inc()

    def append_in(self, conn: Connection, stream_id: str, expected_version: int, events: Sequence[NewEvent],
                  actor: Actor, idempotency_key: str | None = None, fingerprint: str | None = None) -> AppendResult:
        """Append inside the caller's transaction: the earlier result of a repeated key, or the events.

        Nothing is written when any event is invalid. A race lost at the unique constraint surfaces as
        IntegrityError (``execute`` maps it)."""
        command = Command(actor, _fingerprint(stream_id, events, idempotency_key, fingerprint), idempotency_key)
        earlier = self.earlier_result(conn, idempotency_key, command.fingerprint)
        if earlier is not None:
            return earlier
        return self._append_decision(conn, Decision(events, stream_id, expected_version), command)

    def _append_decision(self, conn: Connection, decision: Decision, command: Command) -> AppendResult:
        """Claim the key with every event id, then append each stream's run of events with its outbox rows."""
        if decision.expected_version is not None and decision.expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        if not decision.events:
            raise ValueError("append needs at least one event")
        runs = by_stream(decision.events, decision.stream_id)
        ids = [e.event_id or uuid.uuid4() for _, run in runs for e in run]
        claim: tuple[str, str] | None = None
        if command.idempotency_key is not None:
            if len(runs) == 1 and not decision.new_streams:
                claim = (command.idempotency_key, command.fingerprint)  # in the append's own statement
            else:
                # The key before the version check: a concurrent twin waits on it, then finds this result.
                self.claim_idempotency_key(conn, command.idempotency_key, command.fingerprint, runs[0][0], ids)
        if decision.new_streams:
            return AppendResult(self._append_new_streams(conn, runs, ids, command.actor))
        written, at = [], 0
        for stream_id, run in runs:
            expected = decision.expected(stream_id)
            version = self.stream_version(conn, stream_id) if expected is None else expected
            built = self._envelopes(stream_id, version, run, command.actor, ids[at:at + len(run)])
            at += len(run)
            # One round trip: the version check, the events and their outbox rows. No NOTIFY for the
            # relay: PostgreSQL serializes the commits of notifying transactions; the relay polls.
            current_version, queued = self._execute_append(conn, stream_id, version, built, claim)
            if queued != len(built):
                raise ConcurrencyConflict(
                    f"stream {stream_id} is at version {current_version}, the command expected {version}",
                    field="expected_version")
            written += [envelope for envelope, _ in built]
        return AppendResult(written)

    def claim_idempotency_key(self, conn: StoreConnection, key: str, fingerprint: str, stream_id: str,
                              event_ids: Sequence[uuid.UUID]) -> None:
        """Record a command's key with every event id it writes: once, never updated (the service's
        role may only INSERT keys). A single-stream append claims its key in its own statement instead."""
        run_statement(conn, f"INSERT INTO {self.schema}.idempotency_keys (idempotency_key, request_hash, stream_id,"
                            " event_ids) VALUES (%s, %s, %s, CAST(%s AS uuid[]))",
                      (key, fingerprint, stream_id, [str(i) for i in event_ids]))

    def _append_new_streams(self, conn: Connection, runs: Sequence[tuple[str, Sequence[NewEvent]]],
                            event_ids: Sequence[uuid.UUID], actor: Actor) -> list[EventEnvelope]:
        """Start many new streams at once (bulk imports): every stream must be new (its events get versions
        1..n); a stream that exists already fails the whole batch at ``UNIQUE(stream_id, stream_version)``.
        Rows go in as multi-row VALUES on the DBAPI cursor (1,000 a statement), one outbox row per event, in
        the events' order: SQLAlchemy's insertmanyvalues encoded each JSONB value and bound each row apart,
        a large part of a 10,000-row import's time (docs/performance.md, "Figures behind the code")."""
        built, at = [], 0
        for stream_id, run in runs:
            built += self._envelopes(stream_id, 0, run, actor, event_ids[at:at + len(run)])
            at += len(run)
        envelopes = [envelope for envelope, _ in built]
        actor_json = jsonb_text(actor.model_dump(mode="json"))  # every envelope of the batch is this actor's
        rows = [(str(e.event_id), e.stream_id, e.stream_version, e.type, e.schema_version, e.occurred_at,
                 e.recorded_at, actor_json, jsonb_text(e.payload), canonical) for e, canonical in built]
        insert_values(conn, f"INSERT INTO {self.schema}.events (event_id, stream_id, stream_version, type,"
                          " schema_version, occurred_at, recorded_at, actor, payload, canonical) VALUES %s", rows,
                    "(%s::uuid, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)")
        insert_values(conn, f"INSERT INTO {self.schema}.outbox (event_id, topic) VALUES %s",
                    [(str(e.event_id), self.topic) for e in envelopes], "(%s::uuid, %s)")
        return envelopes

    def _envelopes(self, stream_id: str, expected_version: int, events: Sequence[NewEvent], actor: Actor,
                   event_ids: Sequence[uuid.UUID] = ()) -> list[tuple[EventEnvelope, bytes]]:
        """The envelopes with their canonical bytes (rendered once: the size check and the row use them)."""
        now = clock.now()
        envelopes = []
        for offset, event in enumerate(events, start=1):
            version, payload = self.registry.validate_payload(event.type, event.payload)
            given = event_ids[offset - 1] if event_ids else event.event_id
            envelope = EventEnvelope(
                event_id=given or uuid.uuid4(), type=event.type, schema_version=version, stream_id=stream_id,
                stream_version=expected_version + offset, occurred_at=event.occurred_at or now,
                recorded_at=now, actor=actor, payload=payload)
            canonical = envelope.canonical_bytes()
            if len(canonical) > self.max_payload_bytes:
                raise PayloadTooLarge(
                    f"{event.type} is {len(canonical)} bytes; the limit is {self.max_payload_bytes}",
                    field="payload")
            envelopes.append((envelope, canonical))
        return envelopes

    def _execute_append(self, conn: StoreConnection, stream_id: str, expected_version: int,
                        built: list[tuple[EventEnvelope, bytes]], claim: tuple[str, str] | None) -> tuple[int, int]:
        """The append statement (with the key's claim when ``claim`` gives the key and fingerprint), prepared
        once per database connection, per event count and per kind; (the stream's version, events queued).

        Parsing and planning the statement cost about a third of PostgreSQL's CPU per command
        (measured: 0.87 -> 0.55-0.70 ms per append). A prepared statement lives as long as its
        connection and survives rollbacks; the pool clears ``info`` when it reconnects, so a new
        connection prepares again. (A transaction-mode pooler in front would break this.) Appends of
        more than PREPARED_MAX_EVENTS events are rare and run unprepared, so a connection holds at
        most twice that many statements per store and no statement nears PostgreSQL's parameter limit.
        """
        values: list[Any] = [stream_id, expected_version, self.topic]
        for envelope, canonical in built:
            values += [str(envelope.event_id), envelope.stream_version, envelope.type, envelope.schema_version,
                       envelope.occurred_at, envelope.recorded_at,
                       json.dumps({"department": envelope.actor.department, "user": envelope.actor.user}),
                       json.dumps(envelope.payload), canonical]
        if claim is not None:
            values += list(claim)
        if len(built) > PREPARED_MAX_EVENTS:
            statement = self._append_sql(len(built), claim is not None, lambda n: f"%(p{n})s")
            (row,) = run_statement(conn, statement, {f"p{n}": v for n, v in enumerate(values, start=1)})
            return row
        name = f"event_store_append_{len(built)}{'k' if claim else ''}_{self._statement_suffix}"
        dbapi = _dbapi(conn)
        prepared = dbapi.info.setdefault("event_store_prepared", set())
        if name not in prepared:
            prepared_sql = self._append_sql(len(built), claim is not None, lambda n: f"${n}")
            run_statement(dbapi, f"PREPARE {name} AS {prepared_sql}")
            prepared.add(name)
        (row,) = run_statement(dbapi, f"EXECUTE {name} ({', '.join(['%s'] * len(values))})", values)
        return row

    def _append_sql(self, count: int, claims: bool, placeholder) -> str:
        """The append: $1 stream id, $2 expected version, $3 topic, then 9 per event (typed by casts), then the
        key and the fingerprint when it ``claims`` the key. The events' insert reads the claim's row, so the key
        is claimed before any version is taken: a concurrent twin waits on the key, then finds this result."""
        types = ("uuid", "int", "text", "int", "timestamptz", "timestamptz", "jsonb", "jsonb", "bytea")
        rows, ids = [], []
        for i in range(count):
            first = 4 + 9 * i
            cells = [f"CAST({placeholder(first + k)} AS {t})" for k, t in enumerate(types)]
            rows.append(f"({cells[0]}, CAST({placeholder(1)} AS text), {', '.join(cells[1:])})")
            ids.append(cells[0])
        s = self.schema
        claimed, from_claimed = "", ""
        if claims:
            key, fingerprint = 4 + 9 * count, 5 + 9 * count
            claimed = f"""claimed AS (
                INSERT INTO {s}.idempotency_keys (idempotency_key, request_hash, stream_id, event_ids)
                VALUES (CAST({placeholder(key)} AS text), CAST({placeholder(fingerprint)} AS text),
                        CAST({placeholder(1)} AS text), ARRAY[{", ".join(ids)}])
                RETURNING 1 AS claimed
            ), """
            from_claimed = ", claimed"
        return f"""
            WITH {claimed}current AS (
                SELECT coalesce(max(stream_version), 0) AS version FROM {s}.events
                WHERE stream_id = CAST({placeholder(1)} AS text)
            ), inserted AS (
                INSERT INTO {s}.events (event_id, stream_id, stream_version, type, schema_version,
                                        occurred_at, recorded_at, actor, payload, canonical)
                SELECT new.* FROM (VALUES {", ".join(rows)}) AS new, current{from_claimed}
                WHERE current.version = CAST({placeholder(2)} AS int)
                RETURNING event_id, stream_version
            ), queued AS (
                INSERT INTO {s}.outbox (event_id, topic)
                SELECT event_id, CAST({placeholder(3)} AS text) FROM inserted ORDER BY stream_version RETURNING id
            )
            SELECT (SELECT version FROM current) AS current_version, (SELECT count(*) FROM queued) AS queued"""

    def earlier_result(self, conn: StoreConnection, key: str | None, fingerprint: str) -> AppendResult | None:
        """The first result of a command with this idempotency key, in the order it was written (its
        events may span streams), or None when the key is new. One statement: the key and its events."""
        if key is None:
            return None
        rows = run_statement(conn, f"SELECT k.request_hash, e.canonical FROM {self.schema}.idempotency_keys k"
                                   f" LEFT JOIN {self.schema}.events e ON e.event_id = ANY(k.event_ids)"
                                   " WHERE k.idempotency_key = %s ORDER BY e.global_position", (key,))
        if not rows:
            return None
        if rows[0][0] != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different request", field="Idempotency-Key")
        return AppendResult([EventEnvelope.from_bytes(bytes(canonical)) for _, canonical in rows
                             if canonical is not None], replayed=True)

    def unclaimed_keys(self, conn: Connection, keys: Iterable[str]) -> set[str]:
        """Which of these idempotency keys no command has claimed yet (one query for many)."""
        keys = set(keys)
        if not keys:
            return keys
        claimed = run_statement(conn, f"SELECT idempotency_key FROM {self.schema}.idempotency_keys"
                                      " WHERE idempotency_key = ANY(%s)", (list(keys),))
        return keys - {row[0] for row in claimed}

    # -- reading -----------------------------------------------------------------
    def stream_version(self, conn: StoreConnection, stream_id: str) -> int:
        (found,) = run_statement(conn, f"SELECT max(stream_version) FROM {self.schema}.events WHERE stream_id = %s",
                                 (stream_id,))
        return found[0] or 0

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
