"""Setup milestones (docs/rules.md, R10b) through the real stack: formation's commands (its own scratch schema and
topic) → the events relayed to Kafka → reporting's projection → ``GET /milestones`` → the accountability trail;
and every refusal a caller can cause, with its field and rule, nothing written."""

import hashlib
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context, project_topics  # noqa: I001
from platform_core.auth import Principal
from platform_core.contracts import event_types_for
from platform_core.kafka_io import create_producer
from platform_core.outbox_relay import OutboxRelay
from platform_core.service import bootstrap_service, build_app
from platform_core.tokens import issuer_from_settings
from reporting.adapters.projection_store import create_tables
from reporting.domain.reports import CITY_TIME
from reporting.entrypoints.milestone_routes import router as milestone_router
from reporting.entrypoints.routes import router as reporting_router
from reporting.handlers import accountability

pytestmark = pytest.mark.integration
DISTRICT, OTHER, REFUSED = "420104", "420105", "420106"  # REFUSED: the refusals' own district
REGISTRY = event_types_for("registry", "membership", "formation", "reporting")


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


def on(day: str, headers: dict) -> dict:
    return headers | {"X-Campaign-Time": f"{day}T10:00:00+08:00"}


@pytest.fixture(scope="module")
def stack(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=2)
    suffix = uuid.uuid4().hex[:8]
    formation_schema, reporting_schema = f"t_fms_{suffix}", f"t_rpm_{suffix}"
    from formation.entrypoints.http import create_app
    formation_context = bootstrap_service("formation", event_types_for("formation"),
                                          settings.model_copy(update={"simulated_clock": True}),
                                          schema=formation_schema, topic=topics["formation"], pool_size=2)
    reporting_context = make_context(settings, reporting_schema, topics["reporting"])
    with TestClient(create_app(formation_context)) as formation, \
            TestClient(build_app(reporting_context, routers=[reporting_router, milestone_router])) as reporting:
        with engine.begin() as conn:
            create_tables(conn, reporting_schema)
        yield formation, reporting, formation_schema, reporting_schema, topics, reporting_context
    formation_context.engine.dispose()
    reporting_context.engine.dispose()
    drop_schemas_like(engine, formation_schema)
    drop_schemas_like(engine, reporting_schema)
    delete_topics(settings.kafka_bootstrap, topics)


def relay_and_project(engine, settings, formation_schema: str, reporting_schema: str, topics: dict) -> None:
    producer = create_producer(settings.kafka_bootstrap, "test-milestones-relay")
    relay = OutboxRelay(engine, formation_schema, producer)
    while relay.publish_batch():
        pass
    producer.close()
    project_topics(engine, settings, reporting_schema, topics, REGISTRY, "test-milestones")


def _record(milestone: str, done_on: str, district: str = DISTRICT, **more) -> dict:
    return {"milestone": milestone, "district_code": district, "done_on": done_on,
            "document_number": f"{district}组通〔2016〕{milestone}号"} | more


def test_milestones_recorded_judged_and_missing_ones_in_the_trail(stack, engine, settings):
    formation, reporting, formation_schema, reporting_schema, topics, context = stack
    district, city = token("district_org", DISTRICT), token("city_org")
    park = formation.post("/milestones/zones", json={"district_code": DISTRICT, "name": "汉口北园区",
                                                     "zone_kind": "park"}, headers=on("2016-09-01", district))
    assert park.status_code == 201, park.text
    zone_id = park.json()["id"]
    assert zone_id.startswith("zone-") and [e["type"] for e in park.json()["events"]] == ["GatheringZoneDeclared"]
    street = formation.post("/milestones/zones", json={"district_code": DISTRICT, "name": "花桥街道",
                                                       "zone_kind": "street", "street_code": f"{DISTRICT}001"},
                            headers=on("2016-09-01", city))
    assert street.status_code == 201, street.text

    digest = hashlib.sha256(b"work plan").hexdigest()
    done = [formation.post("/milestones", json=body, headers=on(day, district | {"Idempotency-Key": key}))
            for key, day, body in (
                ("wp", "2016-08-15", _record("work_plan", "2016-08-15", document_sha256=digest)),  # the due day
                ("tr", "2016-08-20", _record("training", "2016-08-18")),  # a day late
                ("gs", "2016-10-10", _record("guidance_station", "2016-10-08", zone_id=zone_id,
                                             document_title="关于成立汉口北园区党建工作指导站的通知")),
                ("pc", "2016-11-21", _record("party_committee", "2016-11-21", zone_id=zone_id,
                                             committee_kind="combined")))]
    assert [r.status_code for r in done] == [201] * 4, [r.text for r in done]
    again = formation.post("/milestones", json=_record("work_plan", "2016-08-15", document_sha256=digest),
                           headers=on("2016-08-15", district | {"Idempotency-Key": "wp"}))
    assert again.json() == done[0].json() and again.headers["Idempotent-Replayed"] == "true"
    listed = formation.get("/milestones/zones", headers=district).json()
    assert [z["name"] for z in listed["zones"]] == ["汉口北园区", "花桥街道"]
    assert formation.get("/milestones/zones", headers=token("district_org", OTHER)).json()["total"] == 0

    with engine.connect() as conn:
        stored = conn.execute(sa.text(f"SELECT type, stream_id, payload FROM {formation_schema}.events"
                                      " WHERE type = 'SetupMilestoneRecorded' ORDER BY global_position")).all()
    assert [r.stream_id for r in stored][:2] == [f"milestone-{DISTRICT}-work_plan", f"milestone-{DISTRICT}-training"]
    assert stored[0].payload["document_sha256"] == digest and stored[3].payload["zone_name"] == "汉口北园区"

    relay_and_project(engine, settings, formation_schema, reporting_schema, topics)
    inspector = token("inspector")
    answer = reporting.get("/milestones", params={"scope": DISTRICT, "as_of": "2016-11-21"}, headers=inspector)
    assert answer.status_code == 200, answer.text
    checklist = answer.json()
    (row,) = checklist["districts"]
    assert {m["milestone"]: m["state"] for m in row["milestones"]} == {
        "work_plan": "on_time", "training": "late", "task_force": "missing"}
    zones = {z["name"]: {m["milestone"]: m["state"] for m in z["milestones"]} for z in row["zones"]}
    assert zones == {"汉口北园区": {"guidance_station": "on_time", "party_committee": "late"},
                     "花桥街道": {"guidance_station": "missing", "party_committee": "missing"}}
    assert checklist["tally"] == {"on_time": 2, "late": 2, "missing": 3, "not_due": 0}
    assert row["milestones"][0]["document"]["sha256"] == digest and row["milestones"][1]["state_zh"] == "逾期"
    early = reporting.get("/milestones", params={"scope": DISTRICT, "as_of": "2016-08-15"}, headers=inspector).json()
    assert [m["state"] for m in early["districts"][0]["milestones"]] == ["on_time", "not_due", "not_due"]
    assert early["districts"][0]["zones"] == []  # declared on 09-01
    city_wide = reporting.get("/milestones", params={"scope": "city", "as_of": "2016-11-21"}, headers=inspector).json()
    assert len(city_wide["districts"]) > 13 and city_wide["tally"]["missing"] > 3
    own = reporting.get("/milestones", params={"as_of": "2016-11-21"}, headers=district).json()
    assert own["scope"] == DISTRICT
    for refused, status, field in ((reporting.get("/milestones", params={"scope": OTHER}, headers=district), 403, None),
                                   (reporting.get("/milestones", params={"scope": "city"}, headers=district), 403, None),
                                   (reporting.get("/milestones", params={"scope": "999999"}, headers=inspector), 404,
                                    "scope"),
                                   (reporting.get("/milestones", params={"scope": "42"}, headers=inspector), 422, None),
                                   (reporting.get("/milestones", params={"as_of": "2016-13-01"}, headers=inspector),
                                    422, None),
                                   (reporting.get("/milestones"), 401, None)):
        assert refused.status_code == status, refused.text
        if field:
            assert refused.json()["field"] == field

    now = datetime(2016, 11, 21, 10, tzinfo=CITY_TIME)
    entries = [e for e in accountability.trail(context, f"district-{DISTRICT}", now=now, topics=tuple(topics.values()))
               if e["entry_kind"].startswith("milestone_")]
    by_subject = {e["subject"]: e for e in entries}
    assert by_subject["setup:task_force"]["entry_kind"] == "milestone_missing"
    assert by_subject["setup:task_force"]["occurred_on"] == "2016-08-17"
    assert "组建工作专班" in by_subject["setup:task_force"]["finding"]
    late = by_subject["setup:training"]
    assert late["entry_kind"] == "milestone_late"
    assert late["event_ids"] == [_event_id(engine, formation_schema, f"milestone-{DISTRICT}-training")]
    street_zone = street.json()["id"]
    missing_station = by_subject[f"setup:guidance_station:{street_zone}"]
    assert "花桥街道" in missing_station["finding"] and "党建工作指导站" in missing_station["finding"]
    assert sorted(e["entry_kind"] for e in entries) == ["milestone_late", "milestone_late", "milestone_missing",
                                                       "milestone_missing", "milestone_missing"]


def _event_id(engine, schema: str, stream: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text(f"SELECT event_id FROM {schema}.events WHERE stream_id = :s"),
                                {"s": stream}).scalar())


def test_refusals_name_the_field_and_the_rule_and_write_nothing(stack, engine):
    formation, _, formation_schema, *_ = stack
    district, other = token("district_org", REFUSED), token("district_org", OTHER)
    zone = formation.post("/milestones/zones", json={"district_code": REFUSED, "name": "武湖园区",
                                                     "zone_kind": "development_zone"}, headers=on("2016-09-02", district))
    assert zone.status_code == 201, zone.text
    zone_id = zone.json()["id"]
    with engine.connect() as conn:
        before = conn.execute(sa.text(f"SELECT count(*) FROM {formation_schema}.events")).scalar()
    cases = [
        ("/milestones", _record("work_plan", "2016-08-14", district=OTHER), district, 403, None, None),
        ("/milestones", _record("work_plan", "2016-08-14", district=REFUSED), token("street_office", f"{REFUSED}001"), 403, None, None),
        ("/milestones", _record("work_plan", "2016-08-14", district=REFUSED), token("inspector"), 403, None, None),
        ("/milestones", _record("guidance_station", "2016-09-03", zone_id=zone_id, district=REFUSED), other | {}, 403, None, None),
        ("/milestones", _record("guidance_station", "2016-09-03", district=OTHER, zone_id=zone_id), other, 422,
         "zone_id", "R10b"),
        ("/milestones", _record("kick_off", "2016-08-14", district=REFUSED), district, 422, "milestone", "R10b"),
        ("/milestones", _record("work_plan", "2016-08-14", zone_id=zone_id, district=REFUSED), district, 422, "zone_id", "R10b"),
        ("/milestones", _record("guidance_station", "2016-09-03", district=REFUSED), district, 422, "zone_id", "R10b"),
        ("/milestones", _record("guidance_station", "2016-09-03", zone_id=f"zone-{uuid.uuid4()}", district=REFUSED), district, 404,
         "zone_id", None),
        ("/milestones", _record("party_committee", "2016-09-03", zone_id=zone_id, district=REFUSED), district, 422, "committee_kind",
         "R10b"),
        ("/milestones", _record("training", "2016-08-14", committee_kind="enterprise", district=REFUSED), district, 422,
         "committee_kind", "R10b"),
        ("/milestones", {**_record("training", "2016-08-14", district=REFUSED), "document_number": None}, district, 422,
         "document_number", "R10b"),
        ("/milestones", _record("training", "2016-09-03", district=REFUSED), district, 422, "done_on", "R10b"),  # after today
        ("/milestones", _record("training", "2015-12-31", district=REFUSED), district, 422, "done_on", "R10b"),
        ("/milestones", _record("training", "2016-08-14", document_sha256="abc", district=REFUSED), district, 422, "document_sha256",
         None),
        ("/milestones", _record("training", "2016-08-14", document_number="\u202e文号", district=REFUSED), district, 422,
         "document_number", None),
        ("/milestones", _record("training", "2016-08-14", extra=1, district=REFUSED), district, 422, "extra", None),
        ("/milestones/zones", {"district_code": "999999", "name": "某园区", "zone_kind": "park"}, token("city_org"),
         422, "district_code", "R10b"),
        ("/milestones/zones", {"district_code": REFUSED, "name": "某街道", "zone_kind": "street"}, district, 422,
         "street_code", "R10b"),
        ("/milestones/zones", {"district_code": REFUSED, "name": "某街道", "zone_kind": "street",
                               "street_code": f"{OTHER}001"}, district, 422, "street_code", "R10b"),
        ("/milestones/zones", {"district_code": REFUSED, "name": "某园区", "zone_kind": "park",
                               "declared_on": "2016-09-03"}, district, 422, "declared_on", "R10b"),
        ("/milestones/zones", {"district_code": OTHER, "name": "某园区", "zone_kind": "park"}, district, 403, None,
         None),
        ("/milestones/zones", {"district_code": REFUSED, "name": "  ", "zone_kind": "park"}, district, 422, "name",
         None),
    ]
    for path, body, headers, status, field, rule in cases:
        answer = formation.post(path, json=body, headers=on("2016-09-02", headers))
        assert answer.status_code == status, (body, answer.text)
        if field:
            assert answer.json()["field"] == field, (body, answer.json())
        if rule:
            assert answer.json()["rule"] == rule, (body, answer.json())
    taken = formation.post("/milestones/zones", json={"district_code": REFUSED, "name": "武湖园区", "zone_kind": "park"},
                           headers=on("2016-09-02", district))
    assert taken.status_code == 409 and taken.json()["field"] == "name"
    first = formation.post("/milestones", json=_record("training", "2016-08-16", district=REFUSED), headers=on("2016-09-02", district))
    assert first.status_code == 201
    second = formation.post("/milestones", json=_record("training", "2016-08-17", district=REFUSED), headers=on("2016-09-02", district))
    assert second.status_code == 409 and second.json()["rule"] == "R10b" and second.json()["field"] == "milestone"
    assert formation.post("/milestones", json=_record("training", "2016-08-14", district=REFUSED)).status_code == 401
    with engine.connect() as conn:
        after = conn.execute(sa.text(f"SELECT count(*) FROM {formation_schema}.events")).scalar()
    assert after == before + 1  # of all the requests above, only the first training
