"""一企一策 / 一社一策 plans (R9) over HTTP on the real stack: created, revised and noted in the entity's scope only,
refused with the field and the rule, in the event store and on Kafka, on the campaign board, overdue on the
business date."""

import json
import time
import uuid

import sqlalchemy as sa
from kafka import KafkaConsumer

from formation_support import member_registered, on, project, token
from platform_core.kafka_io import create_producer, kafka_options
from platform_core.outbox_relay import OutboxRelay

DAY = "2016-09-10"
OTHER_DISTRICT = token("district_org", "420103")


def _plan(entity_id: str, **changes) -> dict:
    return {"entity_id": entity_id, "measures": ["排查党员，动员组织关系转入", "选派党建工作指导员"],
            "target_date": "2016-10-31", "responsible": {"name": "王建国", "role": "街道党工委副书记"}} | changes


def _board_row(client, headers, entity_id: str, day: str) -> dict:
    tasks = client.get("/tasks", params={"district": "420102", "limit": 5000}, headers=on(day, headers)).json()["tasks"]
    return next(t for t in tasks if t["entity_id"] == entity_id)


def test_a_plan_is_created_revised_noted_and_shown_on_the_board(client, city, district, engine, make_entity):
    company = make_entity(0)
    society = make_entity(0, kind="social_organization", subtype="social_group", level="district")
    created = client.post("/plans", json=_plan(company), headers=on(DAY, district | {"Idempotency-Key": "p-" + company}))
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    assert plan_id == "plan-" + company.removeprefix("entity-")
    assert [e["type"] for e in created.json()["events"]] == ["PlanCreated"]
    repeat = client.post("/plans", json=_plan(company), headers=on(DAY, district | {"Idempotency-Key": "p-" + company}))
    assert repeat.json() == created.json() and repeat.headers["Idempotent-Replayed"] == "true"
    again = client.post("/plans", json=_plan(company), headers=on(DAY, district))
    assert again.status_code == 409 and again.json()["rule"] == "R9"
    social = client.post("/plans", json=_plan(society), headers=on(DAY, district))
    assert social.status_code == 201

    revised = client.post(f"/plans/{plan_id}/revise", json={"reason": "党员排查提前完成", "target_date": "2016-10-20"},
                          headers=on("2016-09-20", district))
    assert revised.status_code == 200, revised.text
    noted = client.post(f"/plans/{plan_id}/progress", json={"note": "已排查出正式党员2名\n正联系转入组织关系"},
                        headers=on("2016-09-25", district))
    assert noted.status_code == 201, noted.text

    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT type, payload FROM formation.events WHERE stream_id = :s "
                                      "ORDER BY stream_version"), {"s": plan_id}).all()
    assert [r.type for r in stored] == ["PlanCreated", "PlanRevised", "PlanProgressNoted"]
    created_payload = stored[0].payload
    assert created_payload["label"] == "一企一策" and created_payload["district_code"] == "420102"
    assert created_payload["street_code"] == "420102001" and created_payload["ledger_unit"] == "street-420102001"
    assert created_payload["responsible_id"].startswith("person-")
    assert "王建国" not in json.dumps([r.payload for r in stored], ensure_ascii=False)  # the name stays out of events
    assert stored[1].payload["revision"] == 1 and stored[1].payload["target_date"] == "2016-10-20"

    view = client.get(f"/plans/{plan_id}", headers=on("2016-09-25", district)).json()
    assert view["label"] == "一企一策" and view["responsible"] == {"role": "街道党工委副书记", "name": "王建国"}
    assert [n["note"] for n in view["progress"]] == ["已排查出正式党员2名\n正联系转入组织关系"]
    assert client.get(f"/plans/{plan_id}", headers=token("market_regulation")).json()["responsible"]["name"] is None
    assert client.get(f"/plans/plan-{society.removeprefix('entity-')}", headers=city).json()["label"] == "一社一策"

    row = _board_row(client, district, company, "2016-09-25")
    assert row["plan"]["target_date"] == "2016-10-20" and row["plan"]["responsible_role"] == "街道党工委副书记"
    assert row["plan"]["responsible_name"] == "王建国"
    assert row["plan"]["last_progress"]["noted_on"] == "2016-09-25" and row["plan"]["overdue"] is False
    assert _board_row(client, district, company, "2016-10-21")["plan"]["overdue"] is True


def test_overdue_plans_on_the_business_date_and_in_scope(client, city, district, engine, make_entity, producer):
    late, in_time, formed = make_entity(0), make_entity(0), make_entity(0)
    for entity, target in ((late, "2016-10-01"), (in_time, "2016-10-31"), (formed, "2016-10-01")):
        assert client.post("/plans", json=_plan(entity, target_date=target), headers=on(DAY, district)).status_code == 201
    project(engine, producer, *[member_registered(formed) for _ in range(3)])
    org = client.post("/organizations", json={"mode": "standalone", "name": "测试单位党支部", "entity_ids": [formed],
                                              "formed_on": "2016-09-30"}, headers=on("2016-09-30", district))
    assert org.status_code == 201, org.text

    def overdue(headers, day: str) -> set[str]:
        found = client.get("/plans", params={"overdue": "true"}, headers=on(day, headers))
        assert found.status_code == 200, found.text
        return {p["entity_id"] for p in found.json()["plans"]}

    assert {late, in_time, formed}.isdisjoint(overdue(district, "2016-10-01"))  # the target day itself is in time
    assert late in overdue(district, "2016-10-02") and {in_time, formed}.isdisjoint(overdue(district, "2016-10-02"))
    assert {late, in_time} <= overdue(city, "2016-11-01") and formed not in overdue(city, "2016-11-01")
    assert not {late, in_time} & overdue(OTHER_DISTRICT, "2016-11-01")  # another district sees none of them
    listed = client.get("/plans", params={"street": "420102001"}, headers=on("2016-11-01", district)).json()["plans"]
    assert next(p for p in listed if p["entity_id"] == formed)["organization_covered"] is True


def test_plans_refused_out_of_scope_and_with_invalid_fields(client, city, district, make_entity):
    entity = make_entity(0)
    for headers in (OTHER_DISTRICT, token("street_office", "420102001"), token("market_regulation")):
        refused = client.post("/plans", json=_plan(entity), headers=on(DAY, headers))
        assert refused.status_code == 403, refused.text
        assert "organization.form" in refused.json()["message"]
    assert client.post("/plans", json=_plan(entity), headers=on(DAY)).status_code == 401

    def refused(body: dict, field: str, day: str = DAY) -> dict:
        answer = client.post("/plans", json=body, headers=on(day, district))
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field, answer.json()
        return answer.json()

    refused(_plan(entity, measures=[]), "measures")
    refused(_plan(entity, measures=["x" * 201]), "measures.0")
    refused(_plan(entity, measures=["措施\x07一"]), "measures.0")
    refused(_plan(entity, measures=["   "]), "measures.0")
    refused(_plan(entity, responsible={"name": "王\u202e建国", "role": "书记"}), "responsible.name")
    refused(_plan(entity, responsible={"name": "420102198001011234", "role": "书记"}), "responsible.name")
    refused(_plan(entity, responsible={"name": "王建国", "role": "书记", "id_number": "420102198001011234"}),
            "responsible.id_number")
    assert refused(_plan(entity, target_date="2017-01-15"), "target_date")["rule"] == "R10"
    assert refused(_plan(entity, target_date="2016-09-09"), "target_date")["rule"] == "R10"  # before today
    refused(_plan(entity, target_date=20161031), "target_date")
    unknown = client.post("/plans", json=_plan(f"entity-{uuid.uuid4()}"), headers=on(DAY, district))
    assert unknown.status_code in (404, 422), unknown.text

    plan_id = client.post("/plans", json=_plan(entity), headers=on(DAY, district)).json()["id"]
    note = client.post(f"/plans/{plan_id}/progress", json={"note": "进展\x00"}, headers=on(DAY, district))
    assert note.status_code == 422
    future = client.post(f"/plans/{plan_id}/progress", json={"note": "进展", "noted_on": "2016-09-11"},
                         headers=on(DAY, district))
    assert future.status_code == 422 and future.json()["field"] == "noted_on"
    other = client.post(f"/plans/{plan_id}/progress", json={"note": "进展"}, headers=on(DAY, OTHER_DISTRICT))
    assert other.status_code == 403
    same = client.post(f"/plans/{plan_id}/revise", json={"reason": "无变化"}, headers=on(DAY, district))
    assert same.status_code == 422 and same.json()["rule"] == "R9"
    missing = client.post(f"/plans/plan-{uuid.uuid4()}/revise", json={"reason": "x"}, headers=on(DAY, district))
    assert missing.status_code == 404
    assert client.get(f"/plans/{plan_id}", headers=OTHER_DISTRICT).status_code == 404


def test_a_covered_entity_gets_no_plan(client, district, engine, make_entity, producer):
    entity = make_entity(3, members=3)
    assert client.post("/organizations", json={"mode": "standalone", "name": "党支部", "entity_ids": [entity],
                                               "formed_on": "2016-09-01"},
                       headers=on("2016-09-01", district)).status_code == 201
    refused = client.post("/plans", json=_plan(entity), headers=on(DAY, district))
    assert refused.status_code == 422 and refused.json()["rule"] == "R9"


def test_plan_events_reach_kafka(client, district, engine, settings, make_entity):
    entity = make_entity(0)
    created = client.post("/plans", json=_plan(entity), headers=on(DAY, district))
    wanted = {e["event_id"] for e in created.json()["events"]}
    producer = create_producer(settings.kafka_bootstrap, "formation-plans-test")
    try:
        relay = OutboxRelay(engine, "formation", producer)
        while relay.publish_batch():
            pass
    finally:
        producer.close(timeout=10)
    consumer = KafkaConsumer("formation.events", **kafka_options(settings.kafka_bootstrap),
                             auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    seen, deadline = {}, time.monotonic() + 30
    try:
        while wanted - set(seen) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    event = json.loads(record.value)
                    seen[event["event_id"]] = event
    finally:
        consumer.close()
    assert wanted <= set(seen)
    event = seen[next(iter(wanted))]
    assert event["type"] == "PlanCreated" and event["payload"]["entity_id"] == entity
