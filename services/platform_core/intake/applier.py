"""A service's intake on the shared stream driver (platform_core.projection_consumer): a batch of commands
from the departments' ``intake.<department>`` topics runs in ONE PostgreSQL transaction with the batch's
offsets (group commit); each command in a savepoint, through the same handlers as the HTTP routes
(``joined_transaction``), so a refused one rolls back alone. Each command's outcome is written in that
transaction (``intake_outcomes``) and published to ``intake.<department>.results`` after the commit (docs/intake.md).
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from kafka import KafkaProducer
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from ..auth import Forbidden, Principal
from ..db import quoted_schema
from ..errors import PlatformError
from ..event_store import JoinedTransaction, joined_transaction
from ..group_commit import CommandSavepoint
from ..kafka_io import DeadLetter, DeadLetterPublisher
from ..metrics import INTAKE_COMMANDS, INTAKE_OUTCOMES_PUBLISHED
from ..projection_consumer import REJECTIONS, BatchOutcome, ConsumedRecord, ConsumerOffsets
from ..refusals import insert_refusal
from .cloudevents import CloudEvent, MalformedCloudEvent, decode, format_time
from .command_types import responsible_service
from .commands import IntakeCommand, command_table
from .departments import IntakeDepartment
from .outcomes import outcome_record

log = logging.getLogger(__name__)
PUBLISH_BATCH = 5000
# One savepoint name for every command of a batch: released and set again in one round trip after a command
# whose writes stay, rolled back to (and so ready again) after a refused one.
COMMAND_SAVEPOINT = "intake_command"
# The rule a command naming another department's ce_source breaks (its refusal's ``rule``).
SOURCE_RULE = "ce_source_department"
SHOWN = 200  # at most this much of a sender's attribute is quoted back in a reason


@dataclass(frozen=True)
class IntakeSpec:
    """What ``campaign consume SERVICE`` runs beside the service's projections (``run_projections``)."""

    service: str
    build: Callable[[], tuple[Engine, list[IntakeCommand]]]  # the engine and the commands, built when run
    departments: tuple[IntakeDepartment, ...]
    services_with_intake: tuple[str, ...]

    name = "intake"  # campaign consume SERVICE --projection intake
    on_start = None

    @property
    def group_id(self) -> str:
        return f"{self.service}.intake"

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(d.topic for d in self.departments)

    def applier(self, schema: str, dead_letters: DeadLetterPublisher, producer: KafkaProducer) -> "IntakeApplier":
        engine, commands = self.build()
        return IntakeApplier(self.service, schema, engine, commands, self.departments, self.services_with_intake,
                             dead_letters, producer, group_id=self.group_id)


class IntakeApplier:
    """The intake's ``Applier`` (apply / stored_offsets / after_commit) for one service."""

    def __init__(self, service: str, schema: str, engine: Engine, commands: list[IntakeCommand],
                 departments: tuple[IntakeDepartment, ...], services_with_intake: tuple[str, ...],
                 dead_letters: DeadLetterPublisher, producer: KafkaProducer, group_id: str | None = None):
        self.service = service
        self.schema = quoted_schema(schema)
        self.engine = engine
        self.group_id = group_id or f"{service}.intake"
        self.commands = command_table(commands)
        self.departments = {d.topic: d for d in departments}
        self.results_topics = {d.name: d.results_topic for d in departments}
        self.services_with_intake = services_with_intake
        self.dead_letters = dead_letters
        self.producer = producer
        self.offsets = ConsumerOffsets(schema, self.group_id)
        self._search_path = f"SET LOCAL search_path TO {self.schema}, public"
        self._firsts = sa.text(f"SELECT o.department, o.ce_id, o.outcome FROM {self.schema}.intake_outcomes o"
                               " JOIN unnest(CAST(:d AS text[]), CAST(:c AS text[])) AS b (department, ce_id)"
                               " USING (department, ce_id) ORDER BY o.id")
        # unnest keeps the rows' order: ids (and so the results topic's order) follow the batch's
        self._insert = sa.text(f"INSERT INTO {self.schema}.intake_outcomes (department, ce_id, outcome)"
                               " SELECT * FROM unnest(CAST(:d AS text[]), CAST(:c AS text[]), CAST(:o AS bytea[]))")
        self._claim = sa.text(f"SELECT id, department, ce_id, outcome FROM {self.schema}.intake_outcomes"
                              " WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED")
        self._mark = sa.text(f"UPDATE {self.schema}.intake_outcomes SET published_at = now() WHERE id = ANY(:ids)")

    # -- in the batch's transaction ------------------------------------------------
    def apply(self, conn: Connection, records: list[ConsumedRecord]) -> BatchOutcome:
        outcome = BatchOutcome()
        # The handlers' unqualified table names are the service's schema, as in their own transactions.
        conn.exec_driver_sql(self._search_path)
        decoded = [(record, _decoded(record)) for record in records]
        commands = {(self.departments[record.topic].name, event.id) for record, event in decoded
                    if isinstance(event, CloudEvent) and record.topic in self.departments}
        ce_ids = {ce_id for _, ce_id in commands}
        batch = _Batch(self._first_outcomes(conn, commands))
        # The batch's ce_ids are the commands' idempotency keys: the store looks them up in one query too.
        with joined_transaction(conn, batch_keys=ce_ids) as joined:
            batch.savepoint = CommandSavepoint(conn, joined, COMMAND_SAVEPOINT)
            for record, event in decoded:
                self._one(conn, joined, batch, record, event, outcome)
        if batch.rows:
            conn.execute(self._insert, {"d": [r[0] for r in batch.rows], "c": [r[1] for r in batch.rows],
                                        "o": [r[2] for r in batch.rows]})
        self.offsets.store(conn, self.offsets.after(records))
        return outcome

    def _first_outcomes(self, conn: Connection, commands: set[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The first outcome stored for each (department, ce_id) of the batch: one query, not one per command."""
        if not commands:
            return {}
        firsts: dict[tuple[str, str], bytes] = {}
        rows = conn.execute(self._firsts, {"d": [d for d, _ in commands], "c": [c for _, c in commands]})
        for department, ce_id, stored in rows:
            firsts.setdefault((department, ce_id), bytes(stored))
        return firsts

    def stored_offsets(self, conn: Connection) -> dict[tuple[str, int], int]:
        return self.offsets.stored(conn)

    def _answers_for(self, ce_type: str | None) -> bool:
        return responsible_service(ce_type, self.services_with_intake) == self.service

    def _one(self, conn: Connection, joined: JoinedTransaction, batch: "_Batch", record: ConsumedRecord,
             event: "CloudEvent | MalformedCloudEvent", outcome: BatchOutcome) -> None:
        department = self.departments.get(record.topic)
        if isinstance(event, MalformedCloudEvent):
            if self._answers_for(None):
                self._malformed(batch, record, department, _header(record, "ce_id"), event.reason, outcome)
            return
        if not self._answers_for(event.type):
            return  # another service's command: its intake runs it
        command = self.commands.get(event.type)
        if department is None:
            self._malformed(batch, record, None, event.id,
                            f"topic {record.topic} belongs to no intake department", outcome)
        elif command is None:
            self._malformed(batch, record, department, event.id, f"unknown ce_type {event.type}", outcome)
        elif event.source != department.source:
            self._wrong_source(conn, batch, department, event)
        else:
            try:
                data = command.model.model_validate(event.data)
            except ValidationError as exc:
                self._malformed(batch, record, department, event.id,
                                f"data does not match {event.type}: {_first_error(exc)}", outcome)
                return
            wrong_subject = _subject_mismatch(command, event, data)
            if wrong_subject is not None:
                self._malformed(batch, record, department, event.id, wrong_subject, outcome)
                return
            self._run(conn, joined, batch, record, department, command, event, data, outcome)

    def _wrong_source(self, conn: Connection, batch: "_Batch", department: IntakeDepartment,
                      event: CloudEvent) -> None:
        """A command on a department's topic naming another producer: refused and recorded, as a 403 is."""
        principal = _principal(department)
        refusal = Forbidden(f"ce_source“{event.source[:SHOWN]}”不是{department.name}的来源"
                            f"（应为“{department.source}”）：部门系统只能以本部门的名义发送命令",
                            principal=principal, permission="intake.source", target=event.id)
        refusal.field, refusal.rule = "ce_source", SOURCE_RULE
        insert_refusal(conn, self.schema, refusal)
        batch.savepoint.kept = True  # the refusal's row is kept: the next command gets a savepoint of its own
        self._write(batch, department.name, event, {"status": "refused", "http_status": refusal.status,
                                                    "error": refusal.to_dict()})

    def _run(self, conn: Connection, joined: JoinedTransaction, batch: "_Batch", record: ConsumedRecord,
             department: IntakeDepartment, command: IntakeCommand, event: CloudEvent, data: Any,
             outcome: BatchOutcome) -> None:
        first = batch.firsts.get((department.name, event.id))
        if first is not None:  # the same ce_id again: the first outcome again, nothing run
            batch.rows.append((department.name, event.id, first))
            outcome.duplicates += 1
            INTAKE_COMMANDS.labels(service=self.service, status="repeated").inc()
            return
        principal = _principal(department)
        savepoint = batch.savepoint
        seen = savepoint.before_command()
        try:
            answer = command.answer(principal, data, event.id)
            savepoint.kept = True
        except PlatformError as exc:
            savepoint.refused(seen)
            if isinstance(exc, Forbidden):
                insert_refusal(conn, self.schema, exc)
                savepoint.kept = True
            body = {"status": "refused", "http_status": exc.status, "error": exc.to_dict()}
        except sa.exc.DBAPIError as exc:
            if _connection_lost(exc):
                raise  # the database went away: the whole batch is retried (nothing of it committed)
            # PostgreSQL refused this command's statements (a constraint, a value out of range): a fault of this
            # command alone, the same every time it runs; retrying the batch would stop the intake for good.
            savepoint.refused(seen)
            body = self._failed(record, event, _database_reason(exc), outcome)
        except REJECTIONS as exc:
            # A fault of this command alone (HTTP would answer 500): the sender hears it, the batch goes on.
            savepoint.refused(seen)
            body = self._failed(record, event, f"{type(exc).__name__}: {exc}", outcome)
        else:
            results = joined.results[seen:]
            body = {"status": "accepted", "http_status": command.status_code,
                    "event_ids": [str(e.event_id) for result in results for e in result.events],
                    "replayed": any(result.replayed for result in results),
                    "answer": jsonable_encoder(answer)}
            outcome.applied += 1
        finally:
            savepoint.after_command()
        self._write(batch, department.name, event, body)

    def _failed(self, record: ConsumedRecord, event: CloudEvent, reason: str, outcome: BatchOutcome) -> dict:
        log.error("intake command failed: %s", reason, exc_info=True, extra={"ce_id": event.id, "ce_type": event.type})
        self._dead_letter(record, f"failed: {reason}", outcome)
        return {"status": "failed", "reason": reason.split(":", 1)[0]}

    def _malformed(self, batch: "_Batch", record: ConsumedRecord,
                   department: IntakeDepartment | None, ce_id: str | None, reason: str, outcome: BatchOutcome) -> None:
        """Dead-lettered with the reason; the sender hears it too when its department and ce_id are known."""
        self._dead_letter(record, f"malformed: {reason}", outcome)
        if department is not None and ce_id:
            self._write(batch, department.name, CloudEvent(ce_id, "", _header(record, "ce_type") or ""),
                        {"status": "malformed", "reason": reason})

    def _write(self, batch: "_Batch", department: str, event: CloudEvent, body: dict) -> None:
        """The outcome's row, inserted with the batch's others (one statement) before the offsets."""
        INTAKE_COMMANDS.labels(service=self.service, status=body["status"]).inc()
        document = {"ce_id": event.id, "ce_type": event.type, "department": department, "service": self.service,
                    **body}
        if event.time is not None:  # the sender's claim, kept as such: never an event's time
            document["department_time"] = format_time(event.time)
        encoded = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        batch.rows.append((department, event.id, encoded))
        batch.firsts.setdefault((department, event.id), encoded)  # the same ce_id later in the batch: a repeat

    def _dead_letter(self, record: ConsumedRecord, reason: str, outcome: BatchOutcome) -> None:
        self.dead_letters.publish(DeadLetter(self.group_id, record.topic, record.partition, record.offset,
                                             reason, record.value))
        outcome.dead_lettered += 1

    # -- after the commit ----------------------------------------------------------
    def after_commit(self) -> None:
        """Publish the committed outcomes not published yet (this batch's, and any a crash left behind), then
        mark them. A crash between the two publishes them again: harmless, an outcome names its ce_id."""
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(self._claim, {"n": PUBLISH_BATCH}).all()
                if not rows:
                    return
                futures = [self.producer.send(self.results_topics[row.department],
                                              *outcome_record(self.service, row.id, row.department, row.ce_id,
                                                              bytes(row.outcome)))
                           for row in rows]
                self.producer.flush()
                for future in futures:
                    future.get(timeout=60)
                conn.execute(self._mark, {"ids": [row.id for row in rows]})
            INTAKE_OUTCOMES_PUBLISHED.labels(service=self.service).inc(len(rows))
            if len(rows) < PUBLISH_BATCH:
                return


@dataclass
class _Batch:
    """One batch's outcomes: the first stored per (department, ce_id), and the rows to insert at its end."""

    firsts: dict[tuple[str, str], bytes]
    rows: list[tuple[str, str, bytes]] = field(default_factory=list)
    savepoint: CommandSavepoint | None = None  # each command's, in the batch's transaction


def _principal(department: IntakeDepartment) -> Principal:
    """The department's commands run as this principal: taken from the topic, never from the message."""
    return Principal(department=department.department, kind=department.kind, user=department.user,
                     territory=department.territory, sectors=department.sectors)


def _subject_mismatch(command: IntakeCommand, event: CloudEvent, data: Any) -> str | None:
    """Why the event's ``subject`` does not name what the command acts on (None when absent or equal)."""
    if event.subject is None:
        return None
    shown = event.subject[:SHOWN]
    if command.subject_field is None:
        return f"subject {shown!r} given, but {event.type} acts on no entity or stream: leave subject out"
    named = getattr(data, command.subject_field, None)
    if event.subject != str(named):
        return f"subject {shown!r} is not the command's {command.subject_field} {named!r}"
    return None


def _decoded(record: ConsumedRecord) -> "CloudEvent | MalformedCloudEvent":
    try:
        return decode(record.headers, record.value)
    except MalformedCloudEvent as exc:
        return exc


def _connection_lost(exc: sa.exc.DBAPIError) -> bool:
    """The database or the connection failed (retry the batch), as opposed to PostgreSQL refusing a statement.
    OperationalError covers a lost server, a deadlock and a cancelled statement: all worth a retry."""
    return exc.connection_invalidated or isinstance(exc.orig, (psycopg2.OperationalError, psycopg2.InterfaceError))


def _database_reason(exc: sa.exc.DBAPIError) -> str:
    """The PostgreSQL error class and SQLSTATE, and its primary message (no statement, no parameters)."""
    diag = getattr(exc.orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or type(exc.orig).__name__
    return f"{type(exc.orig).__name__} (SQLSTATE {getattr(exc.orig, 'pgcode', None)}): {primary}"


def _header(record: ConsumedRecord, name: str) -> str | None:
    for key, value in record.headers:
        if key.lower() == name and value:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error.get('loc', ())) or 'data'}: {error.get('msg', 'invalid')}"


def intake_spec(service: str, build: Callable[[], tuple[Engine, list[IntakeCommand]]],
                departments_file=None) -> IntakeSpec:
    """The service's intake over the configured departments (CAMPAIGN_INTAKE_DEPARTMENTS_FILE); ``build`` makes
    the engine and the commands when the intake starts."""
    from ..services import INTAKE_SERVICES
    from .departments import load_intake_departments

    return IntakeSpec(service, build, load_intake_departments(departments_file), INTAKE_SERVICES)
