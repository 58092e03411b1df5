"""R7 rates at a level, now (the live projection) or as of a past time (the nearest as-of snapshot and the
events after it: docs/reporting.md, "As-of figures")."""

import threading
from functools import partial
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone

from platform_core import clock
from platform_core.contracts import every_event_type
from platform_core.errors import Busy, RuleViolation, SchemaViolation
from platform_core.read_replica import ReadConnection, primary_connection
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.adapters import as_of_snapshots, queries
from reporting.domain.rates import Counters, rates
from reporting.domain.reports import end_of_day
from reporting.handlers.bulletins import REPLAY_RETRY_AFTER_S, SETTLED_AFTER, as_of

LEVELS = tuple(queries.DIMENSION_SQL)


def rates_at(context: ServiceContext, level: str, at: datetime | None = None,
             district: str | None = None, read: ReadConnection | None = None) -> dict:
    """``read``: how the live projection is read (a query endpoint's reader: the standby while fresh enough)."""
    if level not in LEVELS:
        raise SchemaViolation(f"level must be one of {', '.join(LEVELS)}", field="level")
    if at is not None:
        counters = rates_as_of(context, past_moment(at), level, district)
        return {"level": level, "as_of": at.isoformat(), "units": _units(counters)}
    schema = context.schema
    where, params = ("district_code = :district", {"district": district}) if district else ("", {})
    # One snapshot for the version and the counters, so a cached answer is exactly that version's figures.
    with live_or_replayed(context, at, read)(isolation_level="REPEATABLE READ") as conn:
        version = queries.projection_version(conn, schema)
        key = (schema, level, district, version)
        units = _RATES.get(key)
        if units is None:
            units = _units(queries.counters_by(conn, schema, level, where, params))
            _RATES.put(key, units)
    return {"level": level, "as_of": None, "units": units}


def _units(counters: dict[str, Counters]) -> list[dict]:
    return [{"unit": unit, "counters": c.as_dict(), "rates": {k: r.as_dict() for k, r in rates(c).items()}}
            for unit, c in counters.items()]


def past_moment(at: datetime) -> datetime:
    """An as_of parameter checked (a zone, in the past), in UTC."""
    if at.tzinfo is None:
        raise SchemaViolation("as_of must carry a time zone, e.g. 2016-11-20T24:00:00+08:00", field="as_of")
    if at >= clock.now():
        raise RuleViolation("as_of must lie in the past", field="as_of", rule="R7")
    return at.astimezone(timezone.utc)


def live_or_replayed(context: ServiceContext, at: datetime | None, read: ReadConnection | None) -> ReadConnection:
    """The live projection through ``read`` (a query endpoint's reader: the standby may answer; by default the
    primary); an as-of replay from the primary, where it was just built."""
    if at is not None or read is None:
        return partial(primary_connection, context.engine)
    return read


def figures_schema(context: ServiceContext, at: datetime | None) -> str:
    """The live projection's schema, or for a past moment its as-of replay's (R7: figures as of a time)."""
    if at is None:
        return context.schema
    return as_of(context, past_moment(at), wait_for_replay=False)


# As-of questions folding at once in this process: each is a CPU-bound fold of up to the snapshot interval's
# events; more at once only share the cores. Others wait their turn, up to AS_OF_WAIT_S, then get Busy.
AS_OF_AT_ONCE = 2
AS_OF_WAIT_S = 10.0
_as_of_slots = threading.BoundedSemaphore(AS_OF_AT_ONCE)


@contextmanager
def as_of_slot():
    if not _as_of_slots.acquire(timeout=AS_OF_WAIT_S):
        raise Busy("历史时点的查询较多，正在排队；请稍后重试", field="as_of", retry_after=REPLAY_RETRY_AFTER_S)
    try:
        yield
    finally:
        _as_of_slots.release()


def snapshot_cutoffs() -> list[datetime]:
    """The moments an as-of snapshot is always cut at: the end of each bulletin cutoff and report deadline day."""
    calendar = load_calendar()
    return sorted({end_of_day(day) for day in (*calendar.bulletin_cutoffs(), *calendar.report_deadlines())})


def rates_as_of(context: ServiceContext, moment: datetime, level: str, district: str | None = None,
                topics: tuple[str, ...] | None = None) -> dict[str, Counters]:
    """The counters as of ``moment`` (UTC) from the nearest snapshot and the events after it (R7). When the
    fold had to read more than a snapshot interval, the snapshots missing are cut in the background."""
    settings, kwargs = context.settings, ({"topics": topics} if topics else {})
    with as_of_slot():
        folded = as_of_snapshots.fold_at(context.engine, settings.kafka_bootstrap, context.schema,
                                         every_event_type(), moment, **kwargs)
    if folded.records_read > settings.reporting_as_of_snapshot_every:
        as_of_snapshots.refresh_in_background(
            context.engine, settings.kafka_bootstrap, context.schema, every_event_type(),
            settings.reporting_as_of_snapshot_every, clock.now() - SETTLED_AFTER, snapshot_cutoffs(), **kwargs)
    return folded.counters_by(level, district)


class _RatesByVersion:
    """Computed rates by (schema, level, district, projection version): dashboards and departments poll
    /rates far more often than the projection changes, and each computation aggregates every baseline
    entity. The version changes with every projection commit and every rebuild, so an entry is never
    served for figures other than its own. Bounded; least recently used entries go first."""

    def __init__(self, size: int = 256):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key, value) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_RATES = _RatesByVersion()
