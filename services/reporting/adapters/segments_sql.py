"""Counters per segment cell over the projection (reporting.domain.segments): one grouping query per scope."""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.adapters.queries import COUNTER_SQL
from reporting.domain.rates import COUNTER_NAMES, Counters
from reporting.domain.segments import FOREIGN_INVESTED_SUBTYPES, Cell

SCOPE_SQL = {"city": "true", "district": "district_code = :code", "street": "street_code = :code"}


def cells(conn: Connection, schema: str, scope_level: str, code: str | None = None) -> list[tuple[Cell, Counters]]:
    """The scope's baseline entities grouped by every fact a breakdown looks at, with the same counter
    definitions as ``queries.counters_by`` (so the cells add up to the scope's /rates counters)."""
    sums = ", ".join(f"{sql} AS {name}" for name, sql in COUNTER_SQL.items())
    rows = conn.execute(sa.text(
        f"SELECT required_reasons, industry, street_code,"
        f" (kind = 'non_public_enterprise' AND subtype = ANY(:foreign)) AS foreign_invested, above_scale,"
        f" federation_member, {sums} FROM {quoted_schema(schema)}.rp_entity_status"
        f" WHERE in_baseline AND {SCOPE_SQL[scope_level]} GROUP BY 1, 2, 3, 4, 5, 6"),
        {"foreign": list(FOREIGN_INVESTED_SUBTYPES), "code": code})
    return [(Cell(tuple(row.required_reasons), row.industry, row.street_code, row.foreign_invested,
                  row.above_scale, row.federation_member),
             Counters(**{name: int(getattr(row, name)) for name in COUNTER_NAMES})) for row in rows]
