"""Rebuild the projections from the beginning of the topics (optionally up to a cutoff).

Reads every partition of the event topics from offset 0 to the end offsets seen at the
start (a plain assigned consumer, no group), folds them in memory with the same
``CampaignState`` the live handler uses, and writes every table once at the end with
COPY / multi-row statements, together with the offsets and processed event ids, in one
transaction: a crash leaves nothing half-built (the replay simply runs again). The
live processor then continues from those offsets (``swap_into``).
"""

import asyncio
import io
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.engine import Connection, Engine

from platform_core.db import migrate, quoted_schema
from platform_core.envelope import EventEnvelope
from platform_core.errors import PlatformError
from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import EVENT_TOPICS, DeadLetter, DeadLetterPublisher, create_producer
from platform_core.projection_consumer import REJECTIONS
from reporting.adapters.projection_store import (
    PROJECTION_GROUP, PROJECTION_TABLES, SPAN_COLUMNS, ProjectionStore, _copy_text, create_tables, drop_tables,
    insert_values, span_rows)
from reporting.domain.fold import CampaignState
from reporting.domain.status import derive_status
from reporting.handlers.projection import Window, collect_own, new_own, write_own


@dataclass(frozen=True)
class ReplayOutcome:
    schema: str
    records: int
    applied: int
    duplicates: int
    dead_lettered: int
    seconds: float
    end_offsets: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class _Fold:
    """The in-memory side of a replay."""

    def __init__(self, registry: EventTypeRegistry | None, window: Window, dead_letters: DeadLetterPublisher,
                 group_id: str):
        self.registry, self.window, self.dead_letters, self.group_id = registry, window, dead_letters, group_id
        self.state = CampaignState()
        self.own: dict[str, list[dict]] = new_own()
        self.seen: set[str] = set()
        self.applied = self.duplicates = self.dead_lettered = 0

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            if value is None:
                raise PlatformError("empty message (no value)")
            envelope = EventEnvelope.from_bytes(value)
            if self.registry is not None:
                envelope = self.registry.upcast(envelope)
        except PlatformError as exc:
            return self._dead_letter(topic, partition, offset, value, f"unreadable: {exc.message}")
        event_id = str(envelope.event_id)
        if event_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(event_id)
        if not self.window.admits(envelope):
            return
        try:
            self.state.apply(envelope.type, envelope.payload, event_id, envelope.recorded_at)
            collect_own(envelope, self.own)
        except REJECTIONS as exc:
            return self._dead_letter(topic, partition, offset, value, f"rejected: {type(exc).__name__}: {exc}")
        self.applied += 1

    def _dead_letter(self, topic, partition, offset, value, reason) -> None:
        self.dead_letters.publish(DeadLetter(self.group_id, topic, partition, offset, reason, value))
        self.dead_lettered += 1


def replay_into(engine: Engine, bootstrap: str, schema: str, registry: EventTypeRegistry | None,
                window: Window | None = None, topics: tuple[str, ...] = EVENT_TOPICS,
                batch_records: int = 20000, group_id: str = PROJECTION_GROUP) -> ReplayOutcome:
    """Drop ``schema``'s projection tables, then rebuild them from the beginning of ``topics``."""
    migrate(engine, schema)  # the core tables (consumer_offsets, processed_events) when the schema is new
    producer = create_producer(bootstrap, f"{schema}-replay-dead-letters")
    fold = _Fold(registry, window or Window(), DeadLetterPublisher(producer), group_id)
    started = time.monotonic()
    try:
        ends = end_offsets(bootstrap, topics)
        records = asyncio.run(_read(bootstrap, ends, fold, batch_records))
        with engine.begin() as conn:
            drop_tables(conn, schema, group_id)
            create_tables(conn, schema)
            write_state(conn, schema, fold.state)
            write_own(conn, quoted_schema(schema), fold.own)
            _write_progress(conn, schema, group_id, fold, ends)
    finally:
        producer.close(timeout=10)
    return ReplayOutcome(schema, records, fold.applied, fold.duplicates, fold.dead_lettered,
                         time.monotonic() - started, {f"{t}:{p}": o for (t, p), o in ends.items()})


def end_offsets(bootstrap: str, topics: tuple[str, ...]) -> dict[tuple[str, int], int]:
    """Every partition of the topics and its end offset now (what a replay reads up to)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id="replay-metadata")
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        return {(tp.topic, tp.partition): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


async def _read(bootstrap: str, ends: dict[tuple[str, int], int], fold: "_Fold", batch_records: int) -> int:
    """Fetch with aiokafka (its record decoding is compiled: ~5x kafka-python's on this machine)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    remaining = {AioTopicPartition(t, p): end for (t, p), end in ends.items() if end > 0}
    if not remaining:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                client_id="replay", check_crcs=False, fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    records = 0
    try:
        consumer.assign(list(remaining))
        await consumer.seek_to_beginning(*remaining)
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_records)
            for tp, batch in fetched.items():
                end = remaining.get(tp)
                for r in batch:
                    if end is not None and r.offset < end:
                        fold.add(r.topic, r.partition, r.offset, r.value)
                        records += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
    finally:
        await consumer.stop()
    return records


def _copy(conn: Connection, table: str, columns: tuple[str, ...], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    finally:
        cursor.close()


def write_state(conn: Connection, schema: str, state: CampaignState) -> None:
    """Every table of the fold's state, once (the same rows the live handler's upserts leave)."""
    s = quoted_schema(schema)
    _copy(conn, f"{s}.rp_entities", ("entity_id", "facts"),
          ((e, json.dumps(f, sort_keys=True, ensure_ascii=False)) for e, f in state.facts.items()))
    _copy(conn, f"{s}.rp_approvals", ("entity_id", "unit"), state.approved.items())
    _copy(conn, f"{s}.rp_flags", ("entity_id", "flags"), ((e, sorted(f)) for e, f in state.flags.items()))
    _copy(conn, f"{s}.rp_members", ("member_id", "entity_id", "standing", "active"),
          ((m, v.entity_id, v.standing, v.active) for m, v in state.members.items()))
    _copy(conn, f"{s}.rp_coverage", ("organization_id", "entity_id", "mode"),
          ((o, e, m) for o, covered in state.coverage.items() for e, m in covered.items()))
    _copy(conn, f"{s}.rp_coverage_spans", SPAN_COLUMNS, span_rows(state, state.spans))
    _copy(conn, f"{s}.rp_work", ("entity_id", "sources"), ((e, sorted(w)) for e, w in state.work.items()))
    _copy(conn, f"{s}.rp_tasks", ("entity_id", "state"), state.tasks.items())
    first_checks = {}
    for check in state.failed_checks:
        first_checks.setdefault(check.check_id, check)
    _copy(conn, f"{s}.rp_failed_checks", ("check_id", "organization_id", "check_kind", "checked_on", "entity_ids",
                                          "findings", "event_id"),
          ((c.check_id, c.organization_id, c.check_kind, c.checked_on, list(c.entity_ids), list(c.findings),
            c.event_id) for c in first_checks.values()))
    store = ProjectionStore(schema)
    store.copy_statuses(conn, [derive_status(e, inputs) for e, inputs in state.all_inputs().items()])


def _write_progress(conn: Connection, schema: str, group_id: str, fold: _Fold,
                    ends: dict[tuple[str, int], int]) -> None:
    s = quoted_schema(schema)
    conn.execute(sa.text(f"UPDATE {s}.rp_meta SET events_applied = :n"), {"n": fold.applied})
    _copy(conn, f"{s}.processed_events", ("group_id", "event_id"), ((group_id, e) for e in fold.seen))
    insert_values(conn, f"INSERT INTO {s}.consumer_offsets (group_id, topic, partition, next_offset) VALUES %s",
                  [(group_id, topic, partition, offset) for (topic, partition), offset in ends.items()])


def swap_into(engine: Engine, scratch: str, live: str, group_id: str = PROJECTION_GROUP) -> None:
    """Replace the live projection by a rebuilt one in one transaction (tables, offsets, processed ids)."""
    s, l = quoted_schema(scratch), quoted_schema(live)
    with engine.begin() as conn:
        drop_tables(conn, live, group_id)
        for table in PROJECTION_TABLES:
            conn.execute(sa.text(f"ALTER TABLE {s}.{table} SET SCHEMA {l}"))
        for table, columns in (("consumer_offsets", "group_id, topic, partition, next_offset"),
                               ("processed_events", "group_id, event_id")):
            conn.execute(sa.text(f"INSERT INTO {l}.{table} ({columns}) SELECT {columns} FROM {s}.{table}"
                                 " WHERE group_id = :g"), {"g": group_id})
        conn.execute(sa.text(f"DROP SCHEMA {s} CASCADE"))


def rebuild_live(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None,
                 topics: tuple[str, ...] = EVENT_TOPICS) -> ReplayOutcome:
    """Replay into a scratch schema, then swap it in: readers see the old projection until the swap."""
    scratch = f"{live}_replay_{uuid.uuid4().hex[:8]}"
    outcome = replay_into(engine, bootstrap, scratch, registry, topics=topics)
    swap_into(engine, scratch, live)
    return outcome


def as_of_schema(live: str, until: datetime) -> str:
    return f"{live}_asof_{until.strftime('%Y%m%d%H%M%S')}"
