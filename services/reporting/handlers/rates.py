"""R7 rates at a level, now (the live projection) or as of a past time (a replay to that cutoff)."""

import threading
from functools import partial
from collections import OrderedDict
from datetime import datetime, timezone

from platform_core import clock
from platform_core.errors import RuleViolation, SchemaViolation
from platform_core.read_replica import ReadConnection, primary_connection
from platform_core.service import ServiceContext
from reporting.adapters import queries
from reporting.domain.rates import rates
from reporting.handlers.bulletins import as_of

LEVELS = tuple(queries.DIMENSION_SQL)


def rates_at(context: ServiceContext, level: str, at: datetime | None = None,
             district: str | None = None, read: ReadConnection | None = None) -> dict:
    """``read``: how the live projection is read (a query endpoint's reader: the standby while fresh enough)."""
    if level not in LEVELS:
        raise SchemaViolation(f"level must be one of {', '.join(LEVELS)}", field="level")
    schema = figures_schema(context, at)
    where, params = ("district_code = :district", {"district": district}) if district else ("", {})
    # One snapshot for the version and the counters, so a cached answer is exactly that version's figures.
    with live_or_replayed(context, at, read)(isolation_level="REPEATABLE READ") as conn:
        version = queries.projection_version(conn, schema)
        key = (schema, level, district, version)
        units = _RATES.get(key)
        if units is None:
            units = [{"unit": unit, "counters": c.as_dict(), "rates": {k: r.as_dict() for k, r in rates(c).items()}}
                     for unit, c in queries.counters_by(conn, schema, level, where, params).items()]
            _RATES.put(key, units)
    return {"level": level, "as_of": at.isoformat() if at else None, "units": units}


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
    if at.tzinfo is None:
        raise SchemaViolation("as_of must carry a time zone, e.g. 2016-11-20T24:00:00+08:00", field="as_of")
    if at >= clock.now():
        raise RuleViolation("as_of must lie in the past", field="as_of", rule="R7")
    return as_of(context, at.astimezone(timezone.utc), wait_for_replay=False)


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
