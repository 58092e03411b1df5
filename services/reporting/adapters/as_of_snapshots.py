"""As-of snapshots: the fold's state at past moments, kept in PostgreSQL, so an as-of question folds only
the events after the nearest one instead of the whole log (docs/reporting.md, "As-of figures").

A snapshot at moment T holds the fold of every event recorded at or before T (``reporting.domain.
fold_snapshot``) and, per partition, two offsets that bound where the events around T lie in the log:

- ``resume``: the first offset holding an event recorded after T (every earlier one is in the snapshot);
- ``stop``: one past the last offset holding an event recorded at or before T.

So for a moment M between two snapshots A <= M < B, the events recorded in (A, M] lie in
[A.resume, B.stop) of each partition: folding that range onto A, keeping only those events, is the
full replay's fold to M (per-stream order is per-partition order, and the fold does not depend on how
streams interleave). After the newest snapshot the range runs to the end of the log.

Snapshots are cut at every bulletin cutoff and report deadline and every ``every`` events, only at
moments older than ``SETTLED_AFTER`` (the relay publishes an event seconds after it is recorded). Each
carries the SHA-256 of its canonical state and an order-free digest of the event ids it covers; an
inspector need not trust them: ``verify`` rebuilds each from the log and compares, and a full replay
(``campaign-reporting replay --until``) gives the figures without any snapshot.
"""

import bisect
import hashlib
import logging
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from platform_core.db import quoted_schema
from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import EVENT_TOPICS
from reporting.adapters.replay import cyclic_gc_paused, ReplayFold, end_offsets, read_ranges
from reporting.domain import fold_snapshot
from reporting.domain.fold import CampaignState
from reporting.domain.rates import Counters
from reporting.domain.window import Window

log = logging.getLogger(__name__)
Partition = tuple[str, int]


@dataclass
class Snapshot:
    covers_until: datetime
    resume: dict[Partition, int]
    stop: dict[Partition, int]
    events_applied: int
    events_digest: int
    state_sha256: str
    blob: bytes | None = None  # zlib of the canonical JSON (state and contributions), when loaded
    # Finer stops inside the interval this snapshot closes: (moment, stop offsets at it), oldest first, so a
    # question between the previous snapshot and this one reads only up to the first mark at or after it.
    marks: list[tuple[datetime, dict[Partition, int]]] = field(default_factory=list)

    def stops_for(self, moment: datetime) -> dict[Partition, int]:
        for mark, stops in self.marks:
            if mark >= moment:
                return {tp: min(stop, self.stop.get(tp, stop)) for tp, stop in stops.items()}
        return self.stop


@dataclass
class Folded:
    """A fold at a moment: the state, each baseline entity's contribution, and what it covers."""

    state: CampaignState = field(default_factory=CampaignState)
    contributions: dict[str, list] = field(default_factory=fold_snapshot.Deferred)
    totals: fold_snapshot.Totals = field(default_factory=dict)  # per level, the sum of the contributions
    events_applied: int = 0
    events_digest: int = 0
    records_read: int = 0  # records read from the log to get here (from the snapshot it started at)
    load_seconds: float = 0.0  # of which reading and decoding the snapshot it started at

    def counters_by(self, level: str, district: str | None = None) -> dict[str, Counters]:
        if district is None:
            return fold_snapshot.counters_from(self.totals, level)
        return fold_snapshot.counters_by(self.contributions, level, district)


def topics_key(topics: Iterable[str]) -> str:
    return ",".join(sorted(topics))


def _offsets(mapping: Mapping[str, int]) -> dict[Partition, int]:
    return {(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1])): int(value) for key, value in mapping.items()}


def _offsets_json(offsets: Mapping[Partition, int]) -> dict[str, int]:
    return {f"{t}:{p}": o for (t, p), o in sorted(offsets.items())}


_COLUMNS = "covers_until, resume_offsets, stop_offsets, events_applied, events_digest, state_sha256, marks"


def _row_snapshot(row, with_blob: bool = False) -> Snapshot:
    return Snapshot(row.covers_until, _offsets(row.resume_offsets), _offsets(row.stop_offsets), row.events_applied,
                    int(row.events_digest, 16), row.state_sha256, bytes(row.state) if with_blob else None,
                    [(datetime.fromisoformat(m), _offsets(stops)) for m, stops in row.marks])


def around(engine: Engine, live: str, topics: Iterable[str],
           moment: datetime) -> tuple[Snapshot | None, Snapshot | None]:
    """The newest snapshot at or before ``moment`` (with its state) and the oldest after it (without)."""
    s, key = quoted_schema(live), topics_key(topics)
    with engine.connect() as conn:
        before = conn.execute(sa.text(
            f"SELECT {_COLUMNS}, state FROM {s}.as_of_snapshots WHERE topics = :k AND covers_until <= :m"
            " ORDER BY covers_until DESC LIMIT 1"), {"k": key, "m": moment}).first()
        after = conn.execute(sa.text(
            f"SELECT {_COLUMNS} FROM {s}.as_of_snapshots WHERE topics = :k AND covers_until > :m"
            " ORDER BY covers_until LIMIT 1"), {"k": key, "m": moment}).first()
    return (_row_snapshot(before, with_blob=True) if before else None), (_row_snapshot(after) if after else None)


def listed(engine: Engine, live: str, topics: Iterable[str], with_blob: bool = False) -> list[Snapshot]:
    s = quoted_schema(live)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {_COLUMNS}{', state' if with_blob else ''} FROM {s}.as_of_snapshots WHERE topics = :k"
            " ORDER BY covers_until"), {"k": topics_key(topics)}).all()
    return [_row_snapshot(row, with_blob) for row in rows]


def loaded(snapshot: Snapshot | None) -> Folded:
    """The fold a snapshot holds; refused when its bytes are not the ones its SHA-256 names."""
    if snapshot is None:
        return Folded()
    data = zlib.decompress(snapshot.blob)
    if hashlib.sha256(data).hexdigest() != snapshot.state_sha256:
        raise SnapshotDamaged(f"as-of snapshot at {snapshot.covers_until.isoformat()} does not match its SHA-256")
    decoded = fold_snapshot.loads(data)
    return Folded(fold_snapshot.decode_state(decoded["state"]), fold_snapshot.Deferred(decoded["contributions"]),
                  fold_snapshot.decode_totals(decoded["totals"]), snapshot.events_applied, snapshot.events_digest)


class SnapshotDamaged(RuntimeError):
    pass


def advance(bootstrap: str, registry: EventTypeRegistry | None, folded: Folded, since: datetime | None,
            until: datetime, starts: Mapping[Partition, int], stops: dict[Partition, int]) -> Folded:
    """Fold onto ``folded`` the events recorded in (since, until] found in [starts, stops) of each partition,
    and derive again the entities they touched."""
    fold = ReplayFold(registry, Window(until=until, since=since))
    fold.state, fold.applied_ids = folded.state, []
    folded.state.touched.clear()
    folded.records_read = read_ranges(bootstrap, fold, starts, stops)
    touched = set(folded.state.touched)
    for entity in touched:
        old = folded.contributions.pop(entity, None)
        if old is not None:
            fold_snapshot.adjust(folded.totals, old, -1)
    derived = fold_snapshot.contributions_of(folded.state, touched)
    for row in derived.values():
        fold_snapshot.adjust(folded.totals, row, 1)
    folded.contributions.update(derived)
    folded.state.touched.clear()
    folded.state.dirty.clear()
    folded.events_applied += fold.applied
    folded.events_digest = fold_snapshot.event_digest(fold.applied_ids, folded.events_digest)
    return folded


def fold_at(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None, moment: datetime,
            topics: tuple[str, ...] = EVENT_TOPICS) -> Folded:
    """The fold of every event recorded at or before ``moment``: the nearest snapshot at or before it, and the
    events after it up to the moment."""
    started = time.monotonic()
    base, following = around(engine, live, topics, moment)
    folded = loaded(base)
    folded.load_seconds = time.monotonic() - started
    if base is not None and base.covers_until == moment:
        return folded
    ends = end_offsets(bootstrap, topics)
    starts = base.resume if base else {}
    if following:
        bound = following.stops_for(moment)
        stops = {tp: min(end, bound.get(tp, end)) for tp, end in ends.items()}
    else:
        stops = ends
    with cyclic_gc_paused():
        return advance(bootstrap, registry, folded, base.covers_until if base else None, moment, starts, stops)


class _RecordedAt:
    """The index pass's sink: (offset, recorded_at) of every readable record, per partition."""

    def __init__(self) -> None:
        self.by_partition: dict[Partition, tuple[list[int], list[datetime]]] = {}

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            recorded_at = datetime.fromisoformat(fold_snapshot.loads(value)["recorded_at"])
        except (ValueError, TypeError, KeyError):
            return  # unreadable: every fold skips it too
        offsets, moments = self.by_partition.setdefault((topic, partition), ([], []))
        offsets.append(offset)
        moments.append(recorded_at)


class _Bounds:
    """Per partition, where the events recorded after / at or before a moment start / end (``resume``/``stop``)."""

    def __init__(self, index: _RecordedAt, ends: Mapping[Partition, int]):
        self.ends, self.partitions = ends, {}
        for tp, (offsets, moments) in index.by_partition.items():
            prefix_max, suffix_min = list(moments), list(moments)
            for i in range(1, len(moments)):
                prefix_max[i] = max(prefix_max[i - 1], moments[i])
            for i in range(len(moments) - 2, -1, -1):
                suffix_min[i] = min(suffix_min[i + 1], moments[i])
            self.partitions[tp] = (offsets, prefix_max, suffix_min)

    def at(self, moment: datetime, previous: Snapshot | None) -> tuple[dict[Partition, int], dict[Partition, int]]:
        resume, stop = {}, {}
        for tp, end in self.ends.items():
            offsets, prefix_max, suffix_min = self.partitions.get(tp, ([], [], []))
            first_after = bisect.bisect_right(prefix_max, moment)
            resume[tp] = offsets[first_after] if first_after < len(offsets) else end
            last_at_or_before = bisect.bisect_right(suffix_min, moment) - 1
            earlier = previous.resume.get(tp, 0) if previous else 0  # nothing of this moment lies before it
            stop[tp] = offsets[last_at_or_before] + 1 if last_at_or_before >= 0 else earlier
        return resume, stop


@contextmanager
def _builder(engine: Engine, live: str) -> Iterator[bool]:
    """One snapshot builder per live schema at a time (a session advisory lock, on a connection of its own)."""
    connection = engine.raw_connection()
    connection.detach()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"as-of-snapshots:{live}",))
            taken = cursor.fetchone()[0]
        connection.commit()
        yield taken
    finally:
        connection.close()


MARKS_PER_SNAPSHOT = 16


def refresh(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None, every: int,
            settled_before: datetime, cutoffs: Iterable[datetime] = (),
            topics: tuple[str, ...] = EVENT_TOPICS) -> list[datetime]:
    """Cut the snapshots missing after the newest one, up to ``settled_before``: at each of ``cutoffs`` and every
    ``every`` events, with ``MARKS_PER_SNAPSHOT`` marks in each interval. Returns the moments cut (none when
    another builder runs)."""
    with _builder(engine, live) as taken:
        if not taken:
            return []
        with cyclic_gc_paused():
            return _refresh(engine, bootstrap, live, registry, every, settled_before, cutoffs, topics)


def _refresh(engine, bootstrap, live, registry, every, settled_before, cutoffs, topics) -> list[datetime]:
    existing = listed(engine, live, topics)
    previous = existing[-1] if existing else None
    since = previous.covers_until if previous else None
    ends = end_offsets(bootstrap, topics)
    starts = previous.resume if previous else {}
    index = _RecordedAt()
    read_ranges(bootstrap, index, starts, ends)
    # Never past the newest event the log holds: a moment beyond it may still receive events (a simulated
    # campaign's business clock runs ahead of the wall clock the caller settled by).
    newest = max((max(recorded) for _, recorded in index.by_partition.values() if recorded), default=None)
    if newest is None:
        return []
    settled_before = min(settled_before, newest)
    moments = sorted(m for _, recorded in index.by_partition.values() for m in recorded
                     if (since is None or m > since) and m <= settled_before)
    cuts = set(moments[every - 1::every]) | {c for c in cutoffs if (since is None or c > since) and c <= settled_before}
    if not cuts:
        return []
    bounds = _Bounds(index, ends)
    folded = loaded(_with_blob(engine, live, topics, previous) if previous else None)
    for moment in sorted(cuts):
        resume, stop = bounds.at(moment, previous)
        inside = moments[bisect.bisect_right(moments, since) if since else 0:bisect.bisect_left(moments, moment)]
        step = max(1, len(inside) // MARKS_PER_SNAPSHOT)
        marks = [(mark, bounds.at(mark, previous)[1]) for mark in sorted(set(inside[step - 1::step]))]
        started = time.monotonic()
        advance(bootstrap, registry, folded, since, moment, previous.resume if previous else {}, stop)
        previous = _store(engine, live, topics, moment, resume, stop, marks, folded)
        since = moment
        log.info("as-of snapshot cut", extra={"schema": live, "covers_until": moment.isoformat(),
                                              "events": folded.events_applied,
                                              "seconds": round(time.monotonic() - started, 2)})
    return sorted(cuts)


def _with_blob(engine: Engine, live: str, topics, snapshot: Snapshot) -> Snapshot:
    base, _ = around(engine, live, topics, snapshot.covers_until)
    return base


def _encoded(folded: Folded) -> bytes:
    return fold_snapshot.dumps({"state": fold_snapshot.encode_state(folded.state),
                                "contributions": {e: fold_snapshot.as_text(folded.contributions, e)
                                                  for e in sorted(folded.contributions)},
                                "totals": fold_snapshot.encode_totals(folded.totals)})


def _store(engine: Engine, live: str, topics, moment: datetime, resume, stop, marks, folded: Folded) -> Snapshot:
    data = _encoded(folded)
    snapshot = Snapshot(moment, resume, stop, folded.events_applied, folded.events_digest,
                        hashlib.sha256(data).hexdigest(), zlib.compress(data, 1), marks)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO {quoted_schema(live)}.as_of_snapshots (topics, {_COLUMNS}, state)"
            " VALUES (:topics, :until, CAST(:resume AS JSONB), CAST(:stop AS JSONB), :applied, :digest, :sha,"
            " CAST(:marks AS JSONB), :state)"),
            {"topics": topics_key(topics), "until": moment,
             "resume": fold_snapshot.dumps(_offsets_json(resume)).decode(),
             "stop": fold_snapshot.dumps(_offsets_json(stop)).decode(), "applied": snapshot.events_applied,
             "digest": f"{snapshot.events_digest:064x}", "sha": snapshot.state_sha256, "state": snapshot.blob,
             "marks": fold_snapshot.dumps([[m.isoformat(), _offsets_json(s)] for m, s in marks]).decode()})
    return snapshot


@dataclass(frozen=True)
class Verified:
    covers_until: datetime
    state_matches: bool
    digest_matches: bool
    events_applied: int


def verify(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None,
           topics: tuple[str, ...] = EVENT_TOPICS) -> list[Verified]:
    """Rebuild every snapshot from the log alone (a fold from the beginning to its moment, no snapshot used)
    and compare its state's SHA-256 and its event digest with the stored ones."""
    found = []
    ends = end_offsets(bootstrap, topics)
    for snapshot in listed(engine, live, topics):
        with cyclic_gc_paused():
            rebuilt = advance(bootstrap, registry, Folded(), None, snapshot.covers_until, {}, ends)
        sha = hashlib.sha256(_encoded(rebuilt)).hexdigest()
        found.append(Verified(snapshot.covers_until, sha == snapshot.state_sha256,
                              rebuilt.events_digest == snapshot.events_digest, rebuilt.events_applied))
    return found


_refreshing = threading.Lock()


def refresh_in_background(engine: Engine, bootstrap: str, live: str, registry: EventTypeRegistry | None,
                          every: int, settled_before: datetime, cutoffs: Iterable[datetime],
                          topics: tuple[str, ...] = EVENT_TOPICS) -> bool:
    """Start ``refresh`` in a thread of this process unless one runs already; returns whether it started."""
    if not _refreshing.acquire(blocking=False):
        return False

    def run() -> None:
        try:
            refresh(engine, bootstrap, live, registry, every, settled_before, list(cutoffs), topics)
        except Exception:  # a failed refresh leaves the snapshots as they were; the next question retries
            log.exception("as-of snapshot refresh failed", extra={"schema": live})
        finally:
            _refreshing.release()

    threading.Thread(target=run, name="as-of-snapshots", daemon=True).start()
    return True
