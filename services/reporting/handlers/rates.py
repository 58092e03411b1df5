"""R7 rates at a level, now (the live projection) or as of a past time (a replay to that cutoff)."""

from datetime import datetime, timezone

from platform_core import clock
from platform_core.errors import RuleViolation, SchemaViolation
from platform_core.service import ServiceContext
from reporting.adapters import queries
from reporting.domain.rates import rates
from reporting.handlers.bulletins import as_of

LEVELS = tuple(queries.DIMENSION_SQL)


def rates_at(context: ServiceContext, level: str, at: datetime | None = None,
             district: str | None = None) -> dict:
    if level not in LEVELS:
        raise SchemaViolation(f"level must be one of {', '.join(LEVELS)}", field="level")
    schema = context.name
    if at is not None:
        if at.tzinfo is None:
            raise SchemaViolation("as_of must carry a time zone, e.g. 2016-11-20T24:00:00+08:00", field="as_of")
        if at >= clock.now():
            raise RuleViolation("as_of must lie in the past", field="as_of", rule="R7")
        schema = as_of(context, at.astimezone(timezone.utc))
    where, params = ("district_code = :district", {"district": district}) if district else ("", {})
    with context.engine.connect() as conn:
        found = queries.counters_by(conn, schema, level, where, params)
    return {"level": level, "as_of": at.isoformat() if at else None,
            "units": [{"unit": key, "counters": c.as_dict(), "rates": {k: r.as_dict() for k, r in rates(c).items()}}
                      for key, c in found.items()]}
