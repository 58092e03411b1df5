"""Rebuild the projections from the beginning of the topics (optionally up to a cutoff).

Reads every partition of the event topics from offset 0 to the end offsets seen at the
start (a plain assigned consumer, no group), folds them in memory with the same
``CampaignState`` the live handler uses, and writes every table once at the end with
COPY / multi-row statements, together with the offsets and processed event ids, in one
transaction: a crash leaves nothing half-built (the replay simply runs again). The
live processor then continues from those offsets (``swap_into``).
"""

import asyncio
import gc
import itertools
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic_core import to_json
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.engine import Connection, Engine

from platform_core.db import migrate, quoted_schema
from platform_core.envelope import EventEnvelope
from platform_core.errors import PlatformError
from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import EVENT_TOPICS, aiokafka_options, kafka_options
from platform_core.projection_consumer import REJECTIONS
from reporting.adapters.bulk_copy import CopyTable, PlainText, copy_tables, copy_text
from reporting.adapters.record_rows import RecordRows
from reporting.adapters.projection_store import (
    PLAN_COLUMNS, PROJECTION_GROUP, PROJECTION_TABLES, SPAN_COLUMNS, STATUS_COLUMNS, create_tables, drop_tables,
    insert_values, span_rows, status_values)
from reporting.domain.fold import CampaignState
from reporting.domain.status import derive_status
from reporting.domain.window import Window


log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ReplayOutcome:
    schema: str
    records: int
    applied: int
    duplicates: int
    # records no projection can use (the live projection dead-letters them; a replay only skips them)
    unusable: int
    seconds: float
    end_offsets: dict[str, int]
    write_seconds: float = 0.0  # of ``seconds``: the one transaction that writes the tables


    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class ReplayFold:
    """The in-memory side of a replay."""

    def __init__(self, registry: EventTypeRegistry | None, window: Window):
        self.registry, self.window = registry, window
        self.state = CampaignState()
        self.records = RecordRows()
        self.seen: set[str] = set()
        # the newest version of each (topic, stream) read: the live projection's stream_versions
        self.versions: dict[tuple[str, str], int] = {}
        self.applied = self.duplicates = 0
        self.unusable: Counter[str] = Counter()  # by reason
        self.latest_recorded_at: datetime | None = None
        self.applied_ids: list[str] | None = None  # the ids applied, when a caller asks (as-of snapshots)

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            if value is None:
                raise PlatformError("empty message (no value)")
            envelope = EventEnvelope.from_bytes(value)
            if self.registry is not None:
                envelope = self.registry.readable(envelope)  # what the live projection reads, no more
        except PlatformError as exc:
            return self._skip(topic, partition, offset, f"unreadable: {exc.message}")
        event_id = str(envelope.event_id)
        if event_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(event_id)
        key = (topic, envelope.stream_id)
        if envelope.stream_version > self.versions.get(key, 0):
            self.versions[key] = envelope.stream_version
        if not self.window.admits(envelope):
            return
        try:
            self.state.apply(envelope.type, envelope.payload, event_id, envelope.recorded_at)
            self.records.collect(envelope)
        except REJECTIONS as exc:
            return self._skip(topic, partition, offset, f"rejected: {type(exc).__name__}: {exc}")
        self.applied += 1
        if self.applied_ids is not None:
            self.applied_ids.append(event_id)
        if self.latest_recorded_at is None or envelope.recorded_at > self.latest_recorded_at:
            self.latest_recorded_at = envelope.recorded_at

    def _skip(self, topic, partition, offset, reason) -> None:
        """Not to the dead-letter topic again: the live projection put it there once; every replay and as-of
        build reads the same records, and each used to add another copy of each."""
        self.unusable[reason.split(":")[0]] += 1
        log.debug("replay skips an unusable record", extra={"topic": topic, "partition": partition,
                                                             "offset": offset, "reason": reason})


def replay_into(engine: Engine, bootstrap: str, schema: str, registry: EventTypeRegistry | None,
                window: Window | None = None, topics: tuple[str, ...] = EVENT_TOPICS,
                batch_records: int = 20000, group_id: str = PROJECTION_GROUP) -> ReplayOutcome:
    """Drop ``schema``'s projection tables, then rebuild them from the beginning of ``topics``."""
    migrate(engine, schema)  # the core tables (consumer_offsets, stream_versions) when the schema is new
    fold = ReplayFold(registry, window or Window())
    started = time.monotonic()
    with cyclic_gc_paused():
        ends = end_offsets(bootstrap, topics)
        records = asyncio.run(_read(bootstrap, ends, fold, batch_records))
        writing = time.monotonic()
        with engine.begin() as conn:
            drop_tables(conn, schema, group_id)
            create_tables(conn, schema)
            indexes = _drop_indexes(conn, schema, COPIED_TABLES)
            group = copy_text(group_id)
            versions = (f"{quoted_schema(schema)}.stream_versions", ("group_id", "topic", "stream_id", "version"),
                        PlainText((group, copy_text(t), copy_text(s), str(v)) for (t, s), v in fold.versions.items()))
            write_state(conn, schema, fold.state, first=[versions], after=indexes)
            fold.records.write(conn, schema)
            _write_progress(conn, schema, group_id, fold, ends)
    finished = time.monotonic()
    if fold.unusable:
        log.warning("replay skipped unusable records (on the dead-letter topic from the live projection)",
                    extra={"schema": schema, "by_reason": dict(fold.unusable)})
    return ReplayOutcome(schema, records, fold.applied, fold.duplicates, sum(fold.unusable.values()),
                         finished - started, {f"{t}:{p}": o for (t, p), o in ends.items()}, finished - writing)


# The tables a replay fills with COPY (stream_versions only while it holds no other group's rows).
COPIED_TABLES = ("rp_entities", "rp_approvals", "rp_flags", "rp_members", "rp_coverage", "rp_coverage_spans",
                 "rp_work", "rp_tasks", "rp_failed_checks", "rp_entity_status", "rp_member_entities",
                 "rp_formation_entities", "rp_federation_lists", "rp_plans")


def _drop_indexes(conn: Connection, schema: str, tables: tuple[str, ...]) -> dict[str, list[str]]:
    """Drop the indexes of tables created empty in this transaction (primary keys included) and return,
    per qualified table, the statements that build them again after its COPY: one sorted build per index
    is about twice as fast as inserting every row into the B-trees (1M processed ids: 7.4 s -> 3.8 s)."""
    empty_versions = conn.execute(sa.text(
        f"SELECT NOT EXISTS (SELECT 1 FROM {quoted_schema(schema)}.stream_versions)")).scalar_one()
    names = [*tables, "stream_versions"] if empty_versions else list(tables)
    found = conn.execute(sa.text("""
        SELECT t.relname AS table_name, i.relname AS index_name, con.conname AS constraint_name,
               pg_get_constraintdef(con.oid) AS constraint_def, pg_get_indexdef(ix.indexrelid) AS index_def
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        LEFT JOIN pg_constraint con ON con.conindid = ix.indexrelid AND con.contype IN ('p', 'u')
        WHERE n.nspname = :schema AND t.relname = ANY(:tables)
        ORDER BY t.relname, i.relname"""), {"schema": schema, "tables": names}).all()
    s, rebuild = quoted_schema(schema), {}
    for row in found:
        table = f"{s}.{row.table_name}"
        if row.constraint_name:
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{row.constraint_name}"')
            statement = f'ALTER TABLE {table} ADD CONSTRAINT "{row.constraint_name}" {row.constraint_def}'
        else:
            conn.exec_driver_sql(f'DROP INDEX {s}."{row.index_name}"')
            statement = row.index_def
        rebuild.setdefault(table, []).append(statement)
    return rebuild


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while replays run (process-wide, so counted).

    The fold keeps millions of objects alive, and every full collection walks all of them: a
    1M-event replay became superlinear (72 s; 61 s without collections on this machine). Reference
    counting still frees everything at once; only reference cycles wait until the last replay ends."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def end_offsets(bootstrap: str, topics: tuple[str, ...]) -> dict[tuple[str, int], int]:
    """Every partition of the topics and its end offset now (what a replay reads up to)."""
    consumer = KafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False,
                             client_id="replay-metadata")
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        return {(tp.topic, tp.partition): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_topics(bootstrap: str, sink, topics: tuple[str, ...] = EVENT_TOPICS, batch_records: int = 20000) -> int:
    """Every record of ``topics`` up to their end offsets now, handed to ``sink.add(topic, partition, offset,
    value)`` (the detectors' measurement reads the topics so, like a replay)."""
    return asyncio.run(_read(bootstrap, end_offsets(bootstrap, topics), sink, batch_records))


def read_ranges(bootstrap: str, sink, starts: Mapping[tuple[str, int], int], stops: dict[tuple[str, int], int],
                batch_records: int = 20000) -> int:
    """The records of each partition from ``starts`` up to (not including) ``stops``, handed to ``sink.add``."""
    return asyncio.run(_read(bootstrap, stops, sink, batch_records, starts))


async def _read(bootstrap: str, ends: dict[tuple[str, int], int], fold: "ReplayFold", batch_records: int,
                starts: Mapping[tuple[str, int], int] | None = None) -> int:
    """Fetch with aiokafka (its record decoding is compiled: ~5x kafka-python's on this machine), each
    partition from its ``starts`` offset (the beginning when None) to its end."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    first = starts or {}
    remaining = {AioTopicPartition(t, p): end for (t, p), end in ends.items() if end > first.get((t, p), 0)}
    if not remaining:
        return 0
    consumer = AIOKafkaConsumer(**aiokafka_options(bootstrap), group_id=None, enable_auto_commit=False,
                                client_id="replay", check_crcs=False, fetch_max_bytes=64 * 1024 * 1024,
                                # a range ends mid-partition: what a fetch brings past it is decoded for nothing
                                max_partition_fetch_bytes=(16 if starts is None else 1) * 1024 * 1024)
    await consumer.start()
    records = 0
    try:
        consumer.assign(list(remaining))
        if starts is None:
            await consumer.seek_to_beginning(*remaining)
        else:
            for tp in remaining:
                consumer.seek(tp, first.get((tp.topic, tp.partition), 0))
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


def write_state(conn: Connection, schema: str, state: CampaignState, first: Iterable[CopyTable] = (),
                after: Mapping[str, list[str]] | None = None) -> None:
    """Every table of the fold's state, once (the same rows the live handler's upserts leave), by COPY;
    ``first`` are other tables to COPY before them, ``after`` the statements to run after a table's COPY."""
    copy_tables(conn, itertools.chain(first, _state_tables(schema, state)), after)


def _state_tables(schema: str, state: CampaignState) -> Iterator[CopyTable]:
    """(table, columns, rows) per table; the rows are generated lazily, in the COPY builder thread.
    The statuses come first: deriving them is the longest Python step, and it overlaps best with the
    ingest of the tables before and after it."""
    s = quoted_schema(schema)
    yield (f"{s}.rp_entity_status", STATUS_COLUMNS,
           (status_values(derive_status(e, inputs)) for e, inputs in state.all_inputs().items()))
    yield (f"{s}.rp_entities", ("entity_id", "facts"),
           ((e, to_json(f).decode()) for e, f in state.facts.items()))  # JSONB: key order is its own
    yield f"{s}.rp_approvals", ("entity_id", "unit"), state.approved.items()
    yield f"{s}.rp_flags", ("entity_id", "flags"), ((e, sorted(f)) for e, f in state.flags.items())
    yield (f"{s}.rp_members", ("member_id", "entity_id", "standing", "active"),
           ((m, v.entity_id, v.standing, v.active) for m, v in state.members.items()))
    yield (f"{s}.rp_coverage", ("organization_id", "entity_id", "mode"),
           ((o, e, m) for o, covered in state.coverage.items() for e, m in covered.items()))
    yield f"{s}.rp_coverage_spans", SPAN_COLUMNS, span_rows(state, state.spans)
    yield f"{s}.rp_member_entities", ("entity_id",), ((e,) for e in state.member_named)
    yield (f"{s}.rp_federation_lists", ("list_key", "submission", "member_ids"),
           ((k, submission, sorted(members)) for k, (submission, members) in state.federation_lists.items()))
    yield f"{s}.rp_formation_entities", ("entity_id",), ((e,) for e in state.formation_named)
    yield f"{s}.rp_work", ("entity_id", "sources"), ((e, sorted(w)) for e, w in state.work.items())
    yield f"{s}.rp_tasks", ("entity_id", "state"), state.tasks.items()
    yield (f"{s}.rp_plans", PLAN_COLUMNS,
           ((e, p.plan_id, p.label, p.target_date, p.responsible_role, p.last_noted_on) for e, p in state.plans.items()))
    first_checks = {}
    for check in state.failed_checks:
        first_checks.setdefault(check.check_id, check)
    yield (f"{s}.rp_failed_checks", ("check_id", "organization_id", "check_kind", "checked_on", "entity_ids",
                                     "findings", "event_id"),
           ((c.check_id, c.organization_id, c.check_kind, c.checked_on, list(c.entity_ids), list(c.findings),
             c.event_id) for c in first_checks.values()))


def _write_progress(conn: Connection, schema: str, group_id: str, fold: ReplayFold,
                    ends: dict[tuple[str, int], int]) -> None:
    s = quoted_schema(schema)
    conn.execute(sa.text(f"UPDATE {s}.rp_meta SET events_applied = :n, latest_recorded_at = :latest"),
                 {"n": fold.applied, "latest": fold.latest_recorded_at})
    insert_values(conn, f"INSERT INTO {s}.consumer_offsets (group_id, topic, partition, next_offset) VALUES %s",
                  [(group_id, topic, partition, offset) for (topic, partition), offset in ends.items()])


def swap_into(engine: Engine, scratch: str, live: str, group_id: str = PROJECTION_GROUP) -> None:
    """Replace the live projection by a rebuilt one in one transaction (tables, offsets, stream versions)."""
    rebuilt, kept = quoted_schema(scratch), quoted_schema(live)
    with engine.begin() as conn:
        # The live tables keep their owner (reporting's role, docs/security.md) whoever runs the replay.
        owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = 'rp_meta'"),
                             {"s": live}).scalar()
        drop_tables(conn, live, group_id)
        for table in PROJECTION_TABLES:
            conn.execute(sa.text(f"ALTER TABLE {rebuilt}.{table} SET SCHEMA {kept}"))
            if owner is not None:
                conn.execute(sa.text(f'ALTER TABLE {kept}.{table} OWNER TO "{owner}"'))
        for table, columns in (("consumer_offsets", "group_id, topic, partition, next_offset"),
                               ("stream_versions", "group_id, topic, stream_id, version")):
            conn.execute(sa.text(f"INSERT INTO {kept}.{table} ({columns}) SELECT {columns} FROM {rebuilt}.{table}"
                                 " WHERE group_id = :g"), {"g": group_id})
        conn.execute(sa.text(f"DROP SCHEMA {rebuilt} CASCADE"))


def rebuild_live(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None,
                 topics: tuple[str, ...] = EVENT_TOPICS) -> ReplayOutcome:
    """Replay into a scratch schema, then swap it in: readers see the old projection until the swap."""
    scratch = f"{live}_replay_{uuid.uuid4().hex[:8]}"
    outcome = replay_into(engine, bootstrap, scratch, registry, topics=topics)
    swap_into(engine, scratch, live)
    return outcome


def as_of_prefix(live: str) -> str:
    """What every as-of schema of ``live`` is named with (reporting.adapters.as_of_cache finds them by it)."""
    return f"{quoted_schema(live)}_asof_"


def as_of_schema(live: str, until: datetime) -> str:
    return f"{as_of_prefix(live)}{until.strftime('%Y%m%d%H%M%S')}"
