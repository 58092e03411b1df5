"""The accountability trail through the real stack: each R10 milestone judged on the projection as of the end of
its day (city time) — the survey per ledger unit, formation (R9), the required set (11-30) and the year-end
80% target — with the coverage spans as evidence, and the related city departments' responsibility reports."""

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from reporting_support import create_topics, delete_topics, drop_schemas_like, dump, make_context, publish  # noqa: I001
from reporting_scenario import REGISTRY, Scenario, ent, org
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.service import build_app
from reporting.adapters.projection_store import PROJECTION_GROUP, create_tables
from reporting.adapters.replay import replay_into
from reporting.domain.reports import CITY_TIME
from reporting.entrypoints.routes import router as reporting_router
from reporting.handlers import accountability
from reporting.handlers.projection import projection_handler

pytestmark = pytest.mark.integration
DISTRICT = "420104"


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


def city(day: int, hour: int = 10, minute: int = 0, second: int = 0, micro: int = 0, month: int = 11) -> datetime:
    return datetime(2016, month, day, hour, minute, second, micro, tzinfo=CITY_TIME)


def formation_scenario() -> Scenario:
    """Four R2 enterprises (>= 100 employees) of one district, all in the baseline, registered from 09-01 (after
    the survey deadline): E1 formed 11-25 (late), E2 formed 11-19 and dissolved 11-22 (met 11-20, uncovered at
    11-30), E3 formed at 23:59:59.999999 on 11-20 (met), E4 formed at 00:00 on 11-21 (late). E5 is not R2 and
    has neither an organization nor work coverage: overdue after 11-20 all the same (R9)."""
    s = Scenario(start=city(1, month=9))
    for n, employees in ((1, 100), (2, 150), (3, 120), (4, 100), (5, 20)):
        s.register(n, employees=employees, district=DISTRICT)
    s.approve(f"street-{DISTRICT}001", [1, 2, 3, 4, 5], district=DISTRICT)
    # Scenario.form records at the clock plus one hour.
    for o, n, at in ((2, 2, city(19)), (1, 1, city(25)), (3, 3, city(20, 23, 59, 59, 999999)), (4, 4, city(21, 0))):
        s.clock = at - timedelta(hours=1)
        s.form(o, "standalone", [n], district=DISTRICT)
    s.emit("formation", org(2), "OrganizationDissolved", {
        "organization_id": org(2), "mode": "standalone", "entity_ids": [ent(2)],
        "dissolved_on": "2016-11-22", "reason": "企业注销"}, at=city(22))
    return s


@pytest.fixture
def stack(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=2)
    schema = f"t_rpa_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    app = build_app(context, routers=[reporting_router])
    with TestClient(app) as client:
        with engine.begin() as conn:
            create_tables(conn, schema)
        yield client, schema, topics, context
    context.engine.dispose()
    drop_schemas_like(engine, schema)
    delete_topics(settings.kafka_bootstrap, topics)


def run_live(engine, settings, schema: str, topics: dict[str, str], expected: int = 0) -> None:
    """Project the topics until ``expected`` events are applied and the consumer has been idle for 3 s (a
    consumer joining slowly on a busy machine is not mistaken for the end of the topics)."""
    producer = create_producer(settings.kafka_bootstrap, "test-reporting-asof-dlq")
    applier = ProjectionApplier(schema, f"{PROJECTION_GROUP}-{schema}", None, REGISTRY,
                                DeadLetterPublisher(producer), batch_handler=projection_handler(schema))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, list(topics.values()), applier, max_records=3)
    idle, applied = 0, 0
    while idle < 3 or applied < expected:
        result = consumer.poll_once(timeout_ms=1000)
        applied += result.applied
        idle = 0 if (result.applied or result.duplicates) else idle + 1
    consumer.consumer.close()
    producer.close()


def relay_outbox(engine, settings, schema: str) -> None:
    from platform_core.outbox_relay import OutboxRelay

    producer = create_producer(settings.kafka_bootstrap, "test-reporting-asof-relay")
    relay = OutboxRelay(engine, schema, producer)
    while relay.publish_batch():
        pass
    producer.close()


def test_milestones_are_judged_as_of_the_end_of_their_day(stack, engine, settings):
    client, schema, topics, context = stack
    scenario = formation_scenario()
    publish(settings.kafka_bootstrap, topics, scenario.events, duplicate_every=4)
    run_live(engine, settings, schema, topics, expected=len(scenario.events))

    entries = accountability.trail(context, f"district-{DISTRICT}", topics=tuple(topics.values()))
    by_subject = {e["subject"]: e for e in entries}
    formation = by_subject["formation"]
    assert formation["entry_kind"] == "deadline_missed" and formation["occurred_on"] == "2016-11-20"
    # not E2 (covered then), not E3 (23:59:59.999999); E5 has neither an organization nor work coverage
    assert formation["entity_ids"] == sorted([ent(1), ent(4), ent(5)])
    formed_late = {str(e.event_id) for _, e in scenario.events
                   if e.type == "OrganizationFormed" and e.payload["entity_ids"][0] in (ent(1), ent(4))}
    assert set(formation["event_ids"]) == formed_late  # the events that covered them, after the deadline
    assert "有3个" in formation["finding"] and "2个截止后才建" in formation["finding"]
    # 11-30, the required set: E2's organization was dissolved on 11-22.
    required = by_subject["required_set"]
    assert required["occurred_on"] == "2016-11-30" and required["entity_ids"] == [ent(2)]
    dissolved = [str(e.event_id) for _, e in scenario.events if e.type == "OrganizationDissolved"]
    assert required["event_ids"] == dissolved and "1个截止前党组织已撤销或调整" in required["finding"]
    # 12-31: E1, E3 and E4 covered of five, below 80%.
    assert "60.00%（3/5）" in by_subject["year_end_coverage"]["finding"]
    # 8-26: the district had registered nothing by the survey deadline.
    assert by_subject[f"survey:district-{DISTRICT}"]["occurred_on"] == "2016-08-26"

    # Over HTTP the same trail: the as-of projections of the milestones are built now, and reused.
    trail = client.get(f"/accountability/district-{DISTRICT}", headers=token("inspector"))
    assert trail.status_code == 200, trail.text
    assert trail.json() == entries

    # A replay builds the same rows, the coverage spans included.
    replayed = f"{schema}_r"
    replay_into(engine, settings.kafka_bootstrap, replayed, REGISTRY, topics=tuple(topics.values()))
    try:
        live_rows, replay_rows = dump(engine, schema), dump(engine, replayed)
        assert len(live_rows["rp_coverage_spans"]) == 4
        assert live_rows == replay_rows
    finally:
        drop_schemas_like(engine, replayed)


def test_responsibility_reports_of_related_city_departments(stack, engine, settings):
    client, schema, topics, _ = stack
    tax = token("tax")
    body = {"summary": "税务师事务所党建责任落实情况", "figures": {"tax_firms": 12}}
    first = client.post("/responsibility-reports", json=body, headers={**tax, "Idempotency-Key": "r1"})
    assert first.status_code == 201, first.text
    assert first.json()["department"] == "tax" and first.json()["due"] == "2016-11-30"
    assert first.json()["status"] == "late"  # submitted now, years after 2016-11-30
    again = client.post("/responsibility-reports", json=body, headers={**tax, "Idempotency-Key": "r1"})
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["report_id"] == first.json()["report_id"]
    duplicate = client.post("/responsibility-reports", json=body, headers=tax)
    assert duplicate.status_code == 409 and duplicate.json()["rule"] == "R11"
    assert client.post("/responsibility-reports", json=body, headers=token("district_org", DISTRICT)).status_code == 403
    assert client.post("/responsibility-reports", json={**body, "department": "health"}, headers=tax).status_code == 403
    city_org = token("city_org")
    named = client.post("/responsibility-reports", json={**body, "department": "education"}, headers=city_org)
    assert named.status_code == 201 and named.json()["department"] == "education"
    united_front = client.post("/responsibility-reports", json={"summary": "出资人（负责人）教育引导情况"},
                               headers=token("united_front"))
    assert united_front.status_code == 201 and united_front.json()["department"] == "united_front"  # 统战, 三(二)
    unnamed = client.post("/responsibility-reports", json=body, headers=city_org)
    assert unnamed.status_code == 422 and unnamed.json()["field"] == "department"
    not_related = client.post("/responsibility-reports", json={**body, "department": "district_org"}, headers=city_org)
    assert not_related.status_code == 422 and not_related.json()["rule"] == "R11"
    empty = client.post("/responsibility-reports", json={"summary": ""}, headers=tax)
    assert empty.status_code == 422

    relay_outbox(engine, settings, schema)
    run_live(engine, settings, schema, topics)
    reader = token("inspector")
    statuses = {r["department"]: r for r in client.get("/responsibility-reports", headers=reader).json()}
    assert statuses["tax"]["status"] == "late" and statuses["tax"]["event_id"] == first.json()["event_id"]
    assert statuses["health"]["status"] == "missing"
    late = client.get("/accountability/department-tax", headers=reader).json()
    assert [(e["entry_kind"], e["subject"], e["event_ids"]) for e in late] == [
        ("report_late", "department_responsibility_report", [first.json()["event_id"]])]
    assert late[0]["occurred_on"] == datetime.now(CITY_TIME).date().isoformat()
    missing = client.get("/accountability/department-health", headers=reader).json()
    assert [(e["entry_kind"], e["occurred_on"]) for e in missing] == [("report_missing", "2016-11-30")]
    entry = {"unit": "department-health", "entry_kind": "report_missing", "subject": "department_responsibility_report",
             "occurred_on": "2016-11-30", "finding": "未报送责任落实情况"}
    assert client.post("/accountability", json=entry, headers=city_org).status_code == 201
    assert client.get("/accountability/department-nowhere", headers=reader).status_code == 404
