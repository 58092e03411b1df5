"""Segments of the R7 rates (``GET /rates?by=``): a scope's counters broken down by reason, attribute,
industry or street, with the scope's total (docs/reporting.md, "Segments")."""

import re
from datetime import datetime

from platform_core.auth import Principal
from platform_core.errors import SchemaViolation
from platform_core.read_replica import ReadConnection
from platform_core.reference import load_industries, load_territory
from platform_core.service import ServiceContext
from reporting.adapters import segments_sql
from reporting.domain import segments
from reporting.handlers.rates import figures_schema, live_or_replayed

SCOPE_SHAPE = re.compile(r"city|[0-9]{6}|[0-9]{9}")


def default_scope(principal: Principal) -> str:
    """A district's or street's department sees its own territory; city-wide departments the city."""
    return principal.territory if principal.territory and SCOPE_SHAPE.fullmatch(principal.territory) else "city"


def scope_level(scope: str) -> str:
    if not SCOPE_SHAPE.fullmatch(scope):
        raise SchemaViolation("scope must be city, a 6-digit district code or a 9-digit street code (GB/T 2260)",
                              field="scope")
    return {4: "city", 6: "district", 9: "street"}[len(scope)]


def segments_at(context: ServiceContext, by: str, scope: str, at: datetime | None = None,
                read: ReadConnection | None = None) -> dict:
    """``GET /rates?by=``: one breakdown of the scope, with the scope's total (``read``: as rates_at's)."""
    if by not in segments.BREAKDOWNS:
        raise SchemaViolation(f"by must be one of {', '.join(segments.BREAKDOWNS)}", field="by")
    return {"scope": scope, "scope_name": scope_name(scope), "as_of": at.isoformat() if at else None,
            **segments.as_dict(*breakdowns(context, scope, (by,), at, read)[by])}


def breakdowns(context: ServiceContext, scope: str, bys=segments.BREAKDOWNS, at: datetime | None = None,
               read: ReadConnection | None = None) -> dict:
    """Several breakdowns of one scope from one grouping of the projection: by -> (breakdown, segment names)."""
    level = scope_level(scope)
    schema = figures_schema(context, at)
    with live_or_replayed(context, at, read)() as conn:
        cells = segments_sql.cells(conn, schema, level, None if level == "city" else scope)
    industries = {code: item.name for code, item in load_industries().items()}
    shown = {}
    for by in bys:
        result = segments.breakdown(cells, by)
        names = {key: segments.segment_name(by, key, industries, street_name) for key in result.segments}
        shown[by] = (result, names)
    return shown


def street_name(code: str) -> str:
    found = load_territory().street(code)
    return found.name if found else code


def scope_name(scope: str) -> str:
    territory = load_territory()
    found = territory.district(scope) if len(scope) == 6 else territory.street(scope) if len(scope) == 9 else None
    return territory.name if scope == "city" else found.name if found else scope
