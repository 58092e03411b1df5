"""Formation's commands from the Kafka intake run its HTTP routes' own functions: the same answers and refusals
(R3 here), a refused command alone rolled back in its batch (docs/intake.md)."""

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))

from formation.entrypoints.intake import intake_commands  # noqa: E402
from intake_support import command, count_rows, decoded, outcomes, results_end, service_intake  # noqa: E402

FORM = "cn.gov.wuhan.campaign.formation.form-organization.v1"


@pytest.fixture(scope="module")
def intake(settings, engine, client):
    with service_intake(settings, engine, client, "formation", intake_commands) as found:
        yield found


def test_formation_commands_from_the_intake_answer_as_http(intake, client, district, engine, make_entity, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    three, two, other = make_entity(3), make_entity(2), make_entity(3)
    form = {"mode": "standalone", "name": "测试党支部", "formed_on": "2016-09-01"}
    sent = [command(FORM, {**form, "entity_ids": [three]}), command(FORM, {**form, "entity_ids": [two]}),
            command(FORM, {**form, "entity_ids": [other]})]
    intake.send("district", *sent)
    consumer = intake.consumer()
    ids = "', '".join(e.id for e in sent)
    try:
        intake.drain(consumer, until=lambda: count_rows(engine, "formation.intake_outcomes",
                                                        f"ce_id IN ('{ids}')") >= 3)
    finally:
        consumer.consumer.close()
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 3))}
    assert [by_id[e.id]["status"] for e in sent] == ["accepted", "refused", "accepted"]
    assert by_id[sent[1].id]["error"]["rule"] == "R3"
    again = client.post("/organizations", json=sent[0].data, headers=district | {"Idempotency-Key": sent[0].id})
    assert again.status_code == by_id[sent[0].id]["http_status"] == 201
    assert again.json() == by_id[sent[0].id]["answer"]
    refused = client.post("/organizations", json=sent[1].data, headers=district)
    assert refused.status_code == by_id[sent[1].id]["http_status"] == 422
    assert refused.json() == by_id[sent[1].id]["error"]


def test_plan_commands_from_the_intake_are_judged_on_the_real_business_date(intake, client, district, engine,
                                                                            make_entity, settings):
    """create-plan runs POST /plans' own function; the intake has no simulated clock, so a 2016 target date lies
    before the real business date and is refused as over HTTP (R10, field target_date)."""
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    body = {"entity_id": make_entity(0), "measures": ["排查党员"], "target_date": "2016-10-31",
            "responsible": {"name": "王建国", "role": "街道党工委副书记"}}
    sent = command("cn.gov.wuhan.campaign.formation.create-plan.v1", body)
    intake.send("district", sent)
    consumer = intake.consumer()
    try:
        intake.drain(consumer, until=lambda: count_rows(engine, "formation.intake_outcomes", f"ce_id = '{sent.id}'") >= 1)
    finally:
        consumer.consumer.close()
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 1))}
    outcome = by_id[sent.id]
    assert outcome["status"] == "refused" and outcome["error"]["field"] == "target_date"
    refused = client.post("/plans", json=body, headers=district)
    assert refused.status_code == outcome["http_status"] == 422 and refused.json() == outcome["error"]


def test_setup_milestones_from_the_intake_answer_as_http(intake, client, district, engine, settings):
    """declare-gathering-zone and record-setup-milestone run their routes' own functions (R10b): a zone declared on
    the real business date, its guidance station recorded; a zone of another district is refused as over HTTP."""
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    zone = command("cn.gov.wuhan.campaign.formation.declare-gathering-zone.v1",
                   {"district_code": "420102", "name": f"园区{uuid.uuid4().hex[:8]}", "zone_kind": "park"})
    intake.send("district", zone)
    consumer = intake.consumer()
    try:
        intake.drain(consumer, until=lambda: count_rows(engine, "formation.intake_outcomes", f"ce_id = '{zone.id}'") >= 1)
        declared = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                            intake.departments["district"], 1))}[zone.id]
        assert declared["status"] == "accepted", declared
        zone_id = declared["answer"]["id"]
        station = {"milestone": "guidance_station", "district_code": "420102", "zone_id": zone_id,
                   "done_on": "2016-10-08", "document_title": "关于建立党建工作指导站的通知"}
        recorded = command("cn.gov.wuhan.campaign.formation.record-setup-milestone.v1", station)
        elsewhere = command("cn.gov.wuhan.campaign.formation.record-setup-milestone.v1",
                            {**station, "district_code": "420103"})
        intake.send("district", recorded, elsewhere)
        ids = f"'{recorded.id}', '{elsewhere.id}'"
        intake.drain(consumer, until=lambda: count_rows(engine, "formation.intake_outcomes", f"ce_id IN ({ids})") >= 2)
    finally:
        consumer.consumer.close()
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 3))}
    assert by_id[recorded.id]["status"] == "accepted" and by_id[recorded.id]["http_status"] == 201
    assert by_id[elsewhere.id]["status"] == "refused" and by_id[elsewhere.id]["http_status"] == 403
    again = client.post("/milestones", json=station, headers=district)
    assert again.status_code == 409 and again.json()["rule"] == "R10b"
