"""GET /rates?by= on PostgreSQL: the scenario's campaign through reporting's projection handler into a scratch
schema, then the API: each breakdown's total is exactly /rates for the same scope, an entity with several
R2 reasons counts under each (E1: ≥100 employees and 3 formal members; E11: city-level, a school with 30
staff and 5 formal members), a district's department sees its own district, bad input is a 422 naming
the field (docs/reporting.md, "Segments")."""

import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting_scenario import DISTRICT_A, DISTRICT_B, campaign, ent  # noqa: E402
from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context  # noqa: E402
from platform_core.auth import Principal  # noqa: E402
from platform_core.tokens import issuer_from_settings  # noqa: E402
from platform_core.service import build_app  # noqa: E402
from reporting.adapters.projection_store import create_tables  # noqa: E402
from reporting.entrypoints.routes import router as reporting_router  # noqa: E402
from reporting.handlers.projection import projection_handler  # noqa: E402

pytestmark = pytest.mark.integration


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


@pytest.fixture(scope="module")
def client(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=1)
    schema = f"t_seg_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    app = build_app(context, routers=[reporting_router])
    try:
        with TestClient(app) as test_client:
            with engine.begin() as conn:
                create_tables(conn, schema)
                projection_handler(schema)(conn, [e for _, e in campaign().events])
            test_client.schema = schema
            yield test_client
    finally:
        context.engine.dispose()
        drop_schemas_like(engine, schema)
        delete_topics(settings.kafka_bootstrap, topics)


def rates_of(client, headers, **params) -> dict:
    answer = client.get("/rates", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("by", ["reason", "attribute", "industry", "street"])
@pytest.mark.parametrize("district", [None, DISTRICT_A, DISTRICT_B])
def test_every_breakdowns_total_is_the_rate_of_the_same_scope(client, by, district):
    reader = token("inspector")
    scope = {"district": district} if district else {}
    plain = rates_of(client, reader, **scope)["units"]
    found = rates_of(client, reader, by=by, **scope)
    assert found["scope"] == (district or "city") and found["by"] == by and found["counting"]
    assert [{"counters": found["total"]["counters"], "rates": found["total"]["rates"]}] == \
        [{"counters": u["counters"], "rates": u["rates"]} for u in plain]
    assert found["segments"] or by == "attribute", found  # district B: one law firm, no attribute
    for segment in found["segments"]:
        rate = segment["rates"]["organization_coverage"]
        assert rate["numerator"] == segment["counters"]["organization_covered"]
        assert rate["denominator"] == segment["counters"]["baseline"]
        assert segment["name"] and "district-" not in segment["name"]


def test_an_entity_counts_under_each_of_its_reasons_and_once_in_the_total(client, engine):
    found = rates_of(client, token("city_org"), by="reason")
    segments = {s["segment"]: s for s in found["segments"]}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT entity_id, required_reasons, organization_covered FROM {client.schema}.rp_entity_status"
            " WHERE in_baseline")).all()
    reasons = {row.entity_id: tuple(row.required_reasons) for row in rows}
    assert reasons[ent(1)] == ("enterprise_100", "formal_members_3")
    assert reasons[ent(11)] == ("city_social_organization", "school_hospital_30", "formal_members_3")
    for code, segment in segments.items():
        members = [row for row in rows if code in (tuple(row.required_reasons) or ("not_required",))]
        assert segment["counters"]["baseline"] == len(members), code
        assert segment["counters"]["organization_covered"] == sum(r.organization_covered for r in members), code
    assert found["total"]["counters"]["required"] == sum(1 for r in rows if r.required_reasons)
    assert sum(s["counters"]["required"] for c, s in segments.items()) > found["total"]["counters"]["required"]
    assert segments["school_hospital_30"]["name"] == "从业人员30人以上的民办学校、民办医院"
    assert segments["not_required"]["counters"]["required"] == 0


def test_a_districts_department_sees_its_own_district_and_streets_are_named(client):
    own = rates_of(client, token("district_org", DISTRICT_A), by="street")
    assert own["scope"] == DISTRICT_A and own["scope_name"] == "江岸区"
    assert [s["segment"] for s in own["segments"]] == [f"{DISTRICT_A}001"]
    city = rates_of(client, token("district_org", DISTRICT_A), by="street", scope="city")
    assert city["scope"] == "city" and len(city["segments"]) >= 2
    street = rates_of(client, token("inspector"), by="attribute", scope=f"{DISTRICT_A}001")
    assert street["total"]["counters"] == own["total"]["counters"]
    attributes = {s["segment"]: s["counters"] for s in street["segments"]}
    assert attributes["federation_member"]["baseline"] == 2  # 工商联's list: E1 and E3


@pytest.mark.parametrize("params, field", [
    ({"by": "colour"}, "by"), ({"by": "reason", "scope": "42010"}, "scope"),
    ({"by": "reason", "scope": "district-420102"}, "scope"), ({"by": "reason", "level": "district"}, "level"),
    ({"scope": "city"}, "scope"), ({"by": "reason", "scope": "city", "district": DISTRICT_A}, "district"),
    ({"by": "reason", "as_of": "2016-09-10T00:00:00"}, "as_of")])
def test_bad_input_is_a_422_naming_the_field(client, params, field):
    answer = client.get("/rates", params=params, headers=token("inspector"))
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text


def test_without_credentials_no_figures(client):
    assert client.get("/rates", params={"by": "reason"}).status_code == 401
    forged = {"Authorization": "Bearer " + "x" * 40}
    assert client.get("/rates", params={"by": "reason"}, headers=forged).status_code == 401
