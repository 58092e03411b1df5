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


def dead_letter_reasons(settings, topic: str, start: dict, expected: int) -> list[str]:
    probe = KafkaConsumer(**kafka_options(settings.kafka_bootstrap), group_id=None, enable_auto_commit=False)
    probe.assign(list(start))
    for partition, offset in start.items():
        probe.seek(partition, offset)
    dead = []
    for _ in range(20):
        for batch in probe.poll(timeout_ms=300).values():
            dead += [dict(r.headers)["dlq.reason"].decode() for r in batch
                     if dict(r.headers).get("dlq.topic") == topic.encode()]
        if len(dead) >= expected:
            break
    probe.close()
    return dead


def dead_letters_end(settings) -> dict:
    probe = KafkaConsumer(**kafka_options(settings.kafka_bootstrap), group_id=None, enable_auto_commit=False)
    try:
        return probe.end_offsets([TopicPartition(DEAD_LETTER_TOPIC, p)
                                  for p in probe.partitions_for_topic(DEAD_LETTER_TOPIC)])
    finally:
        probe.close()


def test_a_command_postgresql_refuses_fails_alone_with_its_reason_and_the_batch_goes_on(intake, consumer, engine,
                                                                                         schema, settings):
    """A statement refused by the database (here a CHECK the rules do not know of) is no reason to retry the batch:
    retried, it would fail the same way for good and stop the intake. The command fails alone, in its savepoint."""
    import sqlalchemy as sa

    poison = f"武汉{uuid.uuid4().hex[:6]}拒收有限公司"
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {schema}.entities ADD CONSTRAINT test_refused_name"
                             f" CHECK (name <> '{poison}') NOT VALID"))
    try:
        start = results_end(settings.kafka_bootstrap, intake.departments.values())
        letters_start = dead_letters_end(settings)
        first, refused, last = enterprise(), enterprise(name=poison), enterprise()
        sent = [command(REGISTER, first), command(REGISTER, refused), command(REGISTER, last)]
        intake.send("district", *sent)
        intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes",
                                                   f"ce_id IN {tuple(e.id for e in sent)}") >= 3)
        by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                         intake.departments["district"], 3))}
        assert [by_id[e.id]["status"] for e in sent] == ["accepted", "failed", "accepted"]
        assert "23514" in by_id[sent[1].id]["reason"]  # check_violation, named to the sender
        assert count(engine, schema, "entities", f"uscc IN ('{first['uscc']}', '{last['uscc']}')") == 2
        assert count(engine, schema, "entities", f"uscc = '{refused['uscc']}'") == 0
        assert count(engine, schema, "idempotency_keys", f"idempotency_key = '{sent[1].id}'") == 0
        reasons = dead_letter_reasons(settings, intake.departments["district"].topic, letters_start, 1)
        assert any("test_refused_name" in r and "23514" in r for r in reasons)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {schema}.entities DROP CONSTRAINT test_refused_name"))


def test_a_ce_id_repeated_in_one_batch_or_by_another_department_runs_once(intake, consumer, engine, schema, settings):
    """The batch's outcomes and idempotency keys are looked up once per batch; a ce_id seen earlier in the same
    batch is still a repeat (same department), and its key is taken for another department's other command."""
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    body, other = enterprise(), enterprise(street_code="420103001")
    twice = command(REGISTER, body)
    intake.send("district", twice, twice)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", f"ce_id = '{twice.id}'") >= 2)
    intake.send("other_district", command(REGISTER, other, ce_id=twice.id))  # the same key, another command
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", f"ce_id = '{twice.id}'") >= 3)
    found = [value for value, _ in outcomes(settings.kafka_bootstrap, start, intake.departments["district"], 2)
             if json.loads(value)["ce_id"] == twice.id]
    assert len(found) == 2 and found[0] == found[1]  # the repeat answers the first outcome, byte for byte
    assert json.loads(found[0])["status"] == "accepted"
    (taken,) = decoded(outcomes(settings.kafka_bootstrap, start, intake.departments["other_district"], 1))
    assert taken["status"] == "refused" and taken["error"]["field"] == "Idempotency-Key"
    assert count(engine, schema, "entities", f"uscc = '{body['uscc']}'") == 1
    assert count(engine, schema, "entities", f"uscc = '{other['uscc']}'") == 0


def test_a_code_registered_already_is_the_409_http_gives_and_the_batch_around_it_commits(intake, consumer, client,
                                                                                         engine, schema, settings):
    """The unique code fails at the read model's constraint inside the command: the store rolls back to the
    command's savepoint and names the holder (explain_unique), as over HTTP; the commands around it commit."""
    district = token("district_org", "420102")
    holder = client.post("/entities", json=enterprise(), headers=district).json()
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    first, taken, last = enterprise(), enterprise(uscc=holder["uscc"]), enterprise()
    sent = [command(REGISTER, first), command(REGISTER, taken), command(REGISTER, last)]
    intake.send("district", *sent)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes",
                                               f"ce_id IN {tuple(e.id for e in sent)}") >= 3)
    by_id = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start,
                                                     intake.departments["district"], 3))}
    assert [by_id[e.id]["status"] for e in sent] == ["accepted", "refused", "accepted"]
    over_http = client.post("/entities", json=taken, headers=district)
    assert over_http.status_code == by_id[sent[1].id]["http_status"] == 409
    assert over_http.json() == by_id[sent[1].id]["error"]
    assert holder["entity_id"] in by_id[sent[1].id]["error"]["message"]
    assert count(engine, schema, "entities", f"uscc IN ('{first['uscc']}', '{last['uscc']}')") == 2
    assert count(engine, schema, "idempotency_keys", f"idempotency_key = '{sent[1].id}'") == 0
