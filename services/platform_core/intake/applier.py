"""A service's intake on the shared stream driver (platform_core.projection_consumer): a batch of commands
from the departments' ``intake.<department>`` topics runs in ONE PostgreSQL transaction with the batch's
offsets (group commit); each command in a savepoint, through the same handlers as the HTTP routes
(``joined_transaction``), so a refused one rolls back alone. Each command's outcome is written in that
transaction (``intake_outcomes``) and published to ``intake.<department>.results`` after the commit (docs/intake.md).
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from kafka import KafkaProducer
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from ..auth import Forbidden, Principal
from ..db import quoted_schema
from ..errors import PlatformError
from ..event_store import JoinedTransaction, joined_transaction
from ..kafka_io import DeadLetter, DeadLetterPublisher
from ..metrics import INTAKE_COMMANDS, INTAKE_OUTCOMES_PUBLISHED
from ..projection_consumer import REJECTIONS, BatchOutcome, ConsumedRecord, ConsumerOffsets
from ..refusals import insert_refusal
from .cloudevents import CloudEvent, MalformedCloudEvent, decode
from .command_types import responsible_service
from .commands import IntakeCommand, command_table
from .departments import IntakeDepartment
from .outcomes import outcome_record

log = logging.getLogger(__name__)
PUBLISH_BATCH = 5000


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
        self._first = sa.text(f"SELECT outcome FROM {self.schema}.intake_outcomes"
                              " WHERE department = :d AND ce_id = :c ORDER BY id LIMIT 1")
        self._insert = sa.text(f"INSERT INTO {self.schema}.intake_outcomes (department, ce_id, outcome)"
                               " VALUES (:d, :c, :o)")
        self._claim = sa.text(f"SELECT id, department, ce_id, outcome FROM {self.schema}.intake_outcomes"
                              " WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED")
        self._mark = sa.text(f"UPDATE {self.schema}.intake_outcomes SET published_at = now() WHERE id = ANY(:ids)")

    # -- in the batch's transaction ------------------------------------------------
    def apply(self, conn: Connection, records: list[ConsumedRecord]) -> BatchOutcome:
        outcome = BatchOutcome()
        # The handlers' unqualified table names are the service's schema, as in their own transactions.
        conn.exec_driver_sql(self._search_path)
        with joined_transaction(conn) as joined:
            for record in records:
                self._one(conn, joined, record, outcome)
        self.offsets.store(conn, self.offsets.after(records))
        return outcome

    def stored_offsets(self, conn: Connection) -> dict[tuple[str, int], int]:
        return self.offsets.stored(conn)

    def _answers_for(self, ce_type: str | None) -> bool:
        return responsible_service(ce_type, self.services_with_intake) == self.service

    def _one(self, conn: Connection, joined: JoinedTransaction, record: ConsumedRecord, outcome: BatchOutcome) -> None:
        department = self.departments.get(record.topic)
        try:
            event = decode(record.headers, record.value)
        except MalformedCloudEvent as exc:
            if self._answers_for(None):
                self._malformed(conn, record, department, _header(record, "ce_id"), exc.reason, outcome)
            return
        if not self._answers_for(event.type):
            return  # another service's command: its intake runs it
        command = self.commands.get(event.type)
        if department is None:
            self._malformed(conn, record, None, event.id, f"topic {record.topic} belongs to no intake department",
                            outcome)
        elif command is None:
            self._malformed(conn, record, department, event.id, f"unknown ce_type {event.type}", outcome)
        else:
            try:
                data = command.model.model_validate(event.data)
            except ValidationError as exc:
                self._malformed(conn, record, department, event.id,
                                f"data does not match {event.type}: {_first_error(exc)}", outcome)
                return
            self._run(conn, joined, record, department, command, event, data, outcome)

    def _run(self, conn: Connection, joined: JoinedTransaction, record: ConsumedRecord, department: IntakeDepartment,
             command: IntakeCommand, event: CloudEvent, data: Any, outcome: BatchOutcome) -> None:
        first = conn.execute(self._first, {"d": department.name, "c": event.id}).scalar()
        if first is not None:  # the same ce_id again: the first outcome again, nothing run
            conn.execute(self._insert, {"d": department.name, "c": event.id, "o": bytes(first)})
            outcome.duplicates += 1
            INTAKE_COMMANDS.labels(service=self.service, status="repeated").inc()
            return
        principal = Principal(department=department.department, kind=department.kind, user=department.user,
                              territory=department.territory, sectors=department.sectors)
        seen = len(joined.results)
        savepoint = conn.begin_nested()
        try:
            answer = command.answer(principal, data, event.id)
            savepoint.commit()
        except PlatformError as exc:
            savepoint.rollback()
            del joined.results[seen:]
            if isinstance(exc, Forbidden):
                insert_refusal(conn, self.schema, exc)
            body = {"status": "refused", "http_status": exc.status, "error": exc.to_dict()}
        except REJECTIONS as exc:
            # A fault of this command alone (HTTP would answer 500): the sender hears it, the batch goes on.
            savepoint.rollback()
            del joined.results[seen:]
            log.exception("intake command failed", extra={"ce_id": event.id, "ce_type": event.type})
            self._dead_letter(record, f"failed: {type(exc).__name__}: {exc}", outcome)
            body = {"status": "failed", "reason": f"{type(exc).__name__}"}
        else:
            results = joined.results[seen:]
            body = {"status": "accepted", "http_status": command.status_code,
                    "event_ids": [str(e.event_id) for result in results for e in result.events],
                    "replayed": any(result.replayed for result in results),
                    "answer": jsonable_encoder(answer)}
            outcome.applied += 1
        self._write(conn, department.name, event, body)

    def _malformed(self, conn: Connection, record: ConsumedRecord, department: IntakeDepartment | None,
                   ce_id: str | None, reason: str, outcome: BatchOutcome) -> None:
        """Dead-lettered with the reason; the sender hears it too when its department and ce_id are known."""
        self._dead_letter(record, f"malformed: {reason}", outcome)
        if department is not None and ce_id:
            self._write(conn, department.name, CloudEvent(ce_id, "", _header(record, "ce_type") or ""),
                        {"status": "malformed", "reason": reason})

    def _write(self, conn: Connection, department: str, event: CloudEvent, body: dict) -> None:
        INTAKE_COMMANDS.labels(service=self.service, status=body["status"]).inc()
        document = {"ce_id": event.id, "ce_type": event.type, "department": department, "service": self.service,
                    **body}
        encoded = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        conn.execute(self._insert, {"d": department, "c": event.id, "o": encoded})

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
