"""Membership's commands from the Kafka intake run its HTTP routes' own functions: the same answers, the same
refusals, a refused command alone rolled back in its batch (docs/intake.md)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))

from intake_support import command, count_rows, decoded, outcomes, results_end, service_intake  # noqa: E402
from membership.entrypoints.intake import intake_commands  # noqa: E402
from membership_support import new_id_number, token  # noqa: E402

FOUND = "cn.gov.wuhan.campaign.membership.register-found-member.v1"
CONFIRM = "cn.gov.wuhan.campaign.membership.confirm-member.v1"


@pytest.fixture(scope="module")
def intake(settings, engine, client):
    with service_intake(settings, engine, client, "membership", intake_commands) as found:
        yield found


def test_membership_commands_from_the_intake_answer_as_http(intake, client, engine, place, organization, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    entity, elsewhere = place("420102"), place("420103")
    body = {"name": "李四", "id_number": new_id_number(), "standing": "formal", "admitted_on": "2005-07-01",
            "entity_id": entity, "organization_id": organization(entity)}
    outside = {**body, "id_number": new_id_number(), "entity_id": elsewhere, "organization_id": None}
    sent = [command(FOUND, body), command(FOUND, outside), command(FOUND, {**body, "id_number": new_id_number()})]
    intake.send("district", *sent)
    consumer = intake.consumer()
    ids = "', '".join(e.id for e in sent)
    try:
        intake.drain(consumer, until=lambda: count_rows(engine, "membership.intake_outcomes",
                                                        f"ce_id IN ('{ids}')") >= 3)
    finally:
        consumer.consumer.close()
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 3))}
    assert [by_id[e.id]["status"] for e in sent] == ["accepted", "refused", "accepted"]
    district = token("district_org", "420102")
    again = client.post("/members/found", json=body, headers=district | {"Idempotency-Key": sent[0].id})
    assert again.status_code == by_id[sent[0].id]["http_status"] == 201
    assert again.json() == by_id[sent[0].id]["answer"]
    refused = client.post("/members/found", json=outside, headers=district)
    assert refused.status_code == by_id[sent[1].id]["http_status"]
    assert refused.json() == by_id[sent[1].id]["error"]
