"""GET /rates answers from a cache keyed by the projection's version: never figures of another version."""

import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from reporting.adapters.projection_store import PROJECTION_VERSION, create_tables
from reporting.entrypoints.cli import fill_synthetic_statuses
from reporting.handlers.rates import rates_at
from reporting_support import drop_schema  # noqa: I001 (sets the path)

pytestmark = pytest.mark.integration


@pytest.fixture
def context(engine):
    name = f"t_rates_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        create_tables(conn, name)
    yield SimpleNamespace(schema=name, engine=engine)
    drop_schema(engine, name)


def baseline(answer: dict) -> int:
    return sum(unit["counters"]["baseline"] for unit in answer["units"])


def test_a_projection_commit_or_a_rebuild_is_never_answered_from_the_cache(engine, context):
    with engine.begin() as conn:
        fill_synthetic_statuses(conn, context.schema, 400)
    first = rates_at(context, "district")
    assert rates_at(context, "district") == first  # the same version: the same answer

    with engine.begin() as conn:  # what a projection batch does: rows and rp_meta in one transaction
        conn.execute(sa.text(f"UPDATE {context.schema}.rp_entity_status SET in_baseline = false"
                             " WHERE entity_id IN (SELECT entity_id FROM {s}.rp_entity_status WHERE in_baseline"
                             " ORDER BY entity_id LIMIT 7)".replace("{s}", context.schema)))
        conn.execute(sa.text(f"UPDATE {context.schema}.rp_meta SET events_applied = events_applied + 1"))
    assert baseline(rates_at(context, "district")) == baseline(first) - 7

    with engine.begin() as conn:  # a rebuild writes rp_meta anew, even with the same count of events
        count = conn.execute(sa.text(f"SELECT events_applied FROM {context.schema}.rp_meta")).scalar_one()
        conn.execute(sa.text(f"DELETE FROM {context.schema}.rp_entity_status"))
        conn.execute(sa.text(f"DELETE FROM {context.schema}.rp_meta"))
        conn.execute(sa.text(f"INSERT INTO {context.schema}.rp_meta (id, events_applied, projection_version)"
                             " VALUES (1, :n, :v)"), {"n": count, "v": PROJECTION_VERSION})
    assert baseline(rates_at(context, "district")) == 0


def test_levels_and_districts_are_cached_apart(engine, context):
    with engine.begin() as conn:
        fill_synthetic_statuses(conn, context.schema, 400)
    city, district = rates_at(context, "city"), rates_at(context, "district")
    one = rates_at(context, "district", district=district["units"][0]["unit"])
    assert len(city["units"]) == 1 and len(district["units"]) > 1 and len(one["units"]) == 1
    assert baseline(city) == baseline(district) > baseline(one)
