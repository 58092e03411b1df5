"""Formation's commands from the Kafka intake run its HTTP routes' own functions: the same answers and refusals
(R3 here), a refused command alone rolled back in its batch (docs/intake.md)."""

import sys
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
