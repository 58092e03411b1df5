"""R12 spot checks on the real PostgreSQL: the sample is recomputed independently from the event alone."""

import base64
import hashlib
import os
import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from formation_support import checkpoint_signed, entity_registered, ledger_approved, project
from platform_core.auth import Principal
from platform_core.contracts import event_types_for
from platform_core.db import migrate
from platform_core.envelope import canonical_json
from platform_core.errors import RuleViolation
from platform_core.event_store import EventStore
from platform_core.service import service_migrations

from formation.adapters.tables import tables
from formation.domain.model import FormOrganization
from formation.handlers.commands import FormationCommands

CITY = Principal(department="city_org", kind="city_org", user="inspector-a")
ON_25_NOVEMBER = datetime(2016, 11, 25, 2, tzinfo=timezone.utc)  # business time inside the R12 windows


def district(code: str) -> Principal:
    """Acceptance checks of enterprises are the district organization department's (R12)."""
    return Principal(department=f"district_org:{code}", kind="district_org", user="checker", territory=code)


def recompute(events: list[dict]) -> dict[str, list[str]]:
    """The documented algorithm, written again from docs/formation.md without formation's code."""
    samples = {}
    for district in sorted({e["district_code"] for e in events}):
        parts = sorted((e for e in events if e["district_code"] == district), key=lambda e: e["part"])
        population = [entity_id for part in parts for entity_id in part["population"]]
        first = parts[0]
        assert len(parts) == first["parts"] and len(population) == first["population_size"]
        assert hashlib.sha256("\n".join(population).encode()).hexdigest() == first["population_sha256"]
        assert population == sorted(population)
        assert first["algorithm"] == "sha256-rank" and first["algorithm_version"] == 1

        def key(entity_id: str) -> tuple[str, str]:
            data = (first["seed"] + "\x1f" + district + "\x1f" + entity_id).encode("utf-8")
            return hashlib.sha256(data).hexdigest(), entity_id

        samples[district] = sorted(population, key=key)[:first["per_district"]]
    return samples


@pytest.fixture
def fresh(engine, producer, topic):
    """Formation's tables in a schema of their own, so the draw's population is exactly this test's."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    migrate(engine, name, service_migrations("formation"))
    store = EventStore(engine, name, topic, event_types_for("formation"))
    yield name, FormationCommands(store, tables(name), clock=lambda: ON_25_NOVEMBER)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))


def _closed_tasks(engine, producer, schema, commands, district_code: str, count: int) -> list[str]:
    ids = [f"entity-{uuid.uuid4()}" for _ in range(count)]
    project(engine, producer, *[entity_registered(e, district=district_code, formal=3) for e in ids],
            ledger_approved(f"street-{district_code}001", ids, district_code), schema=schema)
    for entity_id in ids:
        org = commands.form(CITY, FormOrganization(f"organization-{uuid.uuid4()}", "standalone", "支部",
                                                   (entity_id,), date(2016, 9, 1)))
        commands.record_check(district(district_code), org.id, True, [], date(2016, 11, 22))
    return ids


def _drawn(engine, schema, spot_check_id) -> list[dict]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(
            f"SELECT payload FROM {schema}.events WHERE stream_id = :s ORDER BY stream_version"), {"s": spot_check_id})]


def test_fixed_seed_draw_is_recomputable(engine, producer, fresh):
    schema, commands = fresh
    ids_a = _closed_tasks(engine, producer, schema, commands, "420102", 12)
    ids_b = _closed_tasks(engine, producer, schema, commands, "420103", 2)
    with pytest.raises(RuleViolation, match="fixed in advance"):
        commands.draw_spot_check(CITY, 3, None, None)
    outcome = commands.draw_spot_check(CITY, 3, None, "2016-11-21 公开抽签值 7391")
    events = _drawn(engine, schema, outcome.id)
    assert {e["seed_source"] for e in events} == {"fixed_value"}
    samples = recompute(events)
    assert samples == {e["district_code"]: e["sample"] for e in events}
    assert set(samples["420102"]) <= set(ids_a) and len(samples["420102"]) == 3
    assert sorted(samples["420103"]) == sorted(ids_b)  # fewer than N: all of them
    again = commands.draw_spot_check(CITY, 3, ["420102"], "2016-11-21 公开抽签值 7391")
    assert _drawn(engine, schema, again.id)[0]["sample"] == samples["420102"]  # reproducible


def test_checkpoint_root_is_the_seed_and_a_chosen_seed_is_refused(engine, producer, fresh):
    schema, commands = fresh
    _closed_tasks(engine, producer, schema, commands, "420104", 5)
    root = base64.b64encode(os.urandom(32)).decode()
    project(engine, producer, checkpoint_signed(7, root), schema=schema)
    with pytest.raises(RuleViolation, match="cherry-picked"):
        commands.draw_spot_check(CITY, 2, None, "my favourite seed")
    outcome = commands.draw_spot_check(CITY, 2, None, None)
    events = _drawn(engine, schema, outcome.id)
    assert events[0]["seed"] == root and events[0]["seed_source"] == "checkpoint_root"
    assert events[0]["checkpoint_id"] == 7
    assert recompute(events) == {"420104": events[0]["sample"]}


def test_failed_spot_check_reopens_the_task(engine, producer, fresh):
    schema, commands = fresh
    ids = _closed_tasks(engine, producer, schema, commands, "420105", 3)
    drawn = commands.draw_spot_check(CITY, 1, ["420105"], "seed-fixed-2016")
    chosen = _drawn(engine, schema, drawn.id)[0]["sample"][0]
    with engine.connect() as conn:
        org = conn.execute(sa.text(f"SELECT organization_id FROM {schema}.coverage WHERE entity_id = :e"),
                           {"e": chosen}).scalar()
    not_drawn = next(e for e in ids if e != chosen)
    with engine.connect() as conn:
        other_org = conn.execute(sa.text(f"SELECT organization_id FROM {schema}.coverage WHERE entity_id = :e"),
                                 {"e": not_drawn}).scalar()
    with pytest.raises(RuleViolation, match="R12"):
        commands.record_check(CITY, other_org, False, ["x"], date(2016, 11, 25), "spot_check", drawn.id)
    result = commands.record_check(CITY, org, False, ["组织生活记录缺失"], date(2016, 11, 25), "spot_check", drawn.id)
    reopened = [e for e in result.result.events if e.type == "TaskReopened"]
    assert reopened and reopened[0].payload["reason"] == "spot_check_failed"
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT state FROM {schema}.tasks WHERE entity_id = :e"),
                            {"e": chosen}).scalar() == "organization_formed"


def test_large_district_population_is_split_into_parts(engine, producer, fresh):
    from formation.domain.spotcheck import draw_events

    population = sorted(f"entity-{uuid.uuid4()}" for _ in range(2500))
    payloads = draw_events(f"spotcheck-{uuid.uuid4()}", "seed-value", "fixed_value", None, 5, "2016-12-01",
                           {"420106": population})
    assert [p["part"] for p in payloads] == [1, 2, 3]
    registry = event_types_for("formation")
    for payload in payloads:  # each part fits the contract and the 64 KiB event limit
        registry.validate_payload("SpotCheckDrawn", payload)
        assert len(canonical_json(payload)) < 60 * 1024  # room for the envelope
    assert recompute(payloads)["420106"] == payloads[0]["sample"]
