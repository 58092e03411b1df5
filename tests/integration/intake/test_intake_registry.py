"""The registry's Kafka intake on the real broker and database: commands in CloudEvents run through the same
handlers as HTTP, many per transaction, each in a savepoint; outcomes on intake.<department>.results; malformed messages
dead-lettered (docs/intake.md)."""

import json
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from platform_core.kafka_io import DEAD_LETTER_TOPIC, kafka_options
from intake_support import FLAG, REGISTER, command, decoded, outcomes, results_end
from registry_api_support import count, enterprise, token


@pytest.fixture
def consumer(intake):
    consumer = intake.consumer()
    yield consumer
    consumer.consumer.close()


def test_a_batch_with_a_refused_command_in_the_middle_commits_the_others(intake, consumer, engine, schema, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    first, outside, last = enterprise(), enterprise(street_code="420103001"), enterprise()
    sent = [command(REGISTER, first), command(REGISTER, outside), command(REGISTER, last)]
    intake.send("district", *sent)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes") >= 3)
    found = decoded(outcomes(settings.kafka_bootstrap, start, intake.departments["district"], 3))
    by_id = {outcome["ce_id"]: outcome for outcome in found}
    assert [by_id[e.id]["status"] for e in sent] == ["accepted", "refused", "accepted"]
    refused = by_id[sent[1].id]
    assert refused["http_status"] == 403 and refused["error"]["error"] == "forbidden"
    assert "420102" in refused["error"]["message"]
    for accepted in (by_id[sent[0].id], by_id[sent[2].id]):
        assert accepted["http_status"] == 201 and len(accepted["event_ids"]) == 1
    codes = [first["uscc"], outside["uscc"], last["uscc"]]
    assert count(engine, schema, "entities", f"uscc IN ('{codes[0]}', '{codes[2]}')") == 2
    assert count(engine, schema, "entities", f"uscc = '{codes[1]}'") == 0
    assert count(engine, schema, "refused_commands", "department = 'district_org:420102'") >= 1


def test_the_same_ce_id_twice_gives_one_event_and_two_identical_outcomes(intake, consumer, engine, schema, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    body = enterprise()
    twice = command(REGISTER, body)
    intake.send("district", twice)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", f"ce_id = '{twice.id}'") >= 1)
    intake.send("district", twice, structured=True)  # the retry may come in either content mode
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", f"ce_id = '{twice.id}'") >= 2)
    found = [value for value, headers in outcomes(settings.kafka_bootstrap, start, intake.departments["district"], 2)
             if json.loads(value)["ce_id"] == twice.id]
    assert len(found) == 2 and found[0] == found[1]
    assert json.loads(found[0])["status"] == "accepted"
    assert count(engine, schema, "entities", f"uscc = '{body['uscc']}'") == 1
    assert count(engine, schema, "events", "type = 'EntityRegistered' AND payload->>'uscc' = "
                 f"'{body['uscc']}'") == 1


def test_outcomes_are_what_http_answers_for_the_same_commands(intake, consumer, client, engine, schema, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    body = enterprise()
    registered, out_of_scope = command(REGISTER, body), command(REGISTER, enterprise(street_code="420103001"))
    intake.send("district", registered, out_of_scope)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes",
                                               f"ce_id IN ('{registered.id}', '{out_of_scope.id}')") >= 2)
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 2))}
    district = token("district_org", "420102")
    # The same command over HTTP with the ce_id as its Idempotency-Key: the same entity, the same answer.
    again = client.post("/entities", json=body, headers={**district, "Idempotency-Key": registered.id})
    assert again.status_code == by_id[registered.id]["http_status"] == 201
    assert again.json() == by_id[registered.id]["answer"]
    refused = client.post("/entities", json=out_of_scope.data, headers=district)
    assert refused.status_code == by_id[out_of_scope.id]["http_status"] == 403
    assert refused.json() == by_id[out_of_scope.id]["error"]


def test_a_command_outside_the_department_s_permissions_is_refused(intake, consumer, client, engine, schema, settings):
    """Market regulation may flag but not register; a district may register but not flag: as with its token."""
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    registering = command(REGISTER, enterprise())
    intake.send("market", registering)
    entity = client.post("/entities", json=enterprise(), headers=token("district_org", "420102")).json()
    flagging = command(FLAG, {"entity_id": entity["entity_id"], "flag": "shell", "reason": "无经营场所"})
    flagged_by_market = command(FLAG, {"entity_id": entity["entity_id"], "flag": "zombie", "reason": "长期停业"})
    intake.send("district", flagging)
    intake.send("market", flagged_by_market)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes") >= 3 and count(
        engine, schema, "intake_outcomes", f"ce_id IN ('{registering.id}', '{flagging.id}', '{flagged_by_market.id}')"
    ) >= 3)
    market = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start, intake.departments["market"], 2))}
    district = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                        intake.departments["district"], 1))}
    assert market[registering.id]["status"] == "refused" and market[registering.id]["http_status"] == 403
    assert district[flagging.id]["status"] == "refused" and district[flagging.id]["http_status"] == 403
    assert market[flagged_by_market.id]["status"] == "accepted"
    assert "zombie" in market[flagged_by_market.id]["answer"]["flags"]


def test_malformed_messages_go_to_the_dead_letters_with_the_reason(intake, consumer, engine, schema, settings):
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    probe = KafkaConsumer(**kafka_options(settings.kafka_bootstrap), group_id=None, enable_auto_commit=False)
    letters = [TopicPartition(DEAD_LETTER_TOPIC, p) for p in probe.partitions_for_topic(DEAD_LETTER_TOPIC)]
    letters_start = probe.end_offsets(letters)
    unknown = command("cn.gov.wuhan.campaign.registry.demolish-entity.v1", {})
    bad_data = command(REGISTER, {**enterprise(), "employees": "很多"})
    intake.send_raw("district", b"not a cloudevent", [])
    intake.send("district", unknown, bad_data)
    ids = (unknown.id, bad_data.id)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes",
                                               f"ce_id IN ('{ids[0]}', '{ids[1]}')") >= 2)
    reasons = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                       intake.departments["district"], 2))}
    assert reasons[unknown.id]["status"] == "malformed" and "unknown ce_type" in reasons[unknown.id]["reason"]
    assert reasons[bad_data.id]["status"] == "malformed" and "employees" in reasons[bad_data.id]["reason"]
    probe.assign(letters)
    for partition, offset in letters_start.items():
        probe.seek(partition, offset)
    dead = []
    for _ in range(20):
        for batch in probe.poll(timeout_ms=300).values():
            dead += [dict(r.headers) for r in batch
                     if dict(r.headers).get("dlq.topic") == intake.departments["district"].topic.encode()]
        if len(dead) >= 3:
            break
    probe.close()
    reasons = sorted(h["dlq.reason"].decode() for h in dead)
    assert len(reasons) == 3
    assert any("not a CloudEvent" in r for r in reasons)
    assert any("unknown ce_type" in r for r in reasons)
    assert any("employees" in r for r in reasons)


def test_each_command_type_s_schema_is_published_over_http(client):
    listed = client.get("/intake/schemas").json()
    assert {"ce_type": REGISTER, "schema": f"/intake/schemas/{REGISTER}", "http_status": 201} in listed
    schema = client.get(f"/intake/schemas/{REGISTER}").json()
    assert schema["title"] == REGISTER and "uscc" in schema["required"]
    flag = client.get(f"/intake/schemas/{FLAG}").json()
    assert {"entity_id", "flag", "reason"} <= set(flag["required"])
    missing = client.get("/intake/schemas/cn.gov.wuhan.campaign.registry.demolish-entity.v1")
    assert missing.status_code == 404 and missing.json()["field"] == "ce_type"


def test_outcomes_a_crash_left_unpublished_are_published_on_an_idle_poll(intake, consumer, engine, schema, settings):
    """A kill between the batch's commit and the publication leaves committed outcomes unpublished: an idle
    consumer publishes them without waiting for a new command."""
    import sqlalchemy as sa

    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    department = intake.departments["district"]
    left = json.dumps({"ce_id": "left-behind", "status": "accepted"}).encode()
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {schema}.intake_outcomes (department, ce_id, outcome) VALUES (:d, :c, :o)"),
                     {"d": department.name, "c": f"left-{uuid.uuid4()}", "o": left})
    intake.drain(consumer, seconds=10, until=lambda: count(engine, schema, "intake_outcomes",
                                                           "published_at IS NULL") == 0)
    assert count(engine, schema, "intake_outcomes", "published_at IS NULL") == 0
    assert left in [value for value, _ in outcomes(settings.kafka_bootstrap, start, department, 1)]
