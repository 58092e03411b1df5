"""The CloudEvents attributes the intake checks, on the real broker and database (docs/intake.md, "Attributes
checked"): ``ce_source`` must be the sending department's, ``ce_time`` an RFC 3339 timestamp kept as the
department's claim, ``ce_subject`` (when given) what the command acts on."""

import json
from datetime import datetime

import pytest

from platform_core.intake.applier import SOURCE_RULE
from platform_core.intake.cloudevents import binary_headers, CloudEvent
from intake_support import FLAG, REGISTER, command, decoded, outcomes, results_end
from registry_api_support import count, enterprise
from test_intake_registry import dead_letter_reasons, dead_letters_end


@pytest.fixture
def consumer(intake):
    consumer = intake.consumer()
    yield consumer
    consumer.consumer.close()


def _run(intake, consumer, engine, schema, settings, who: str, *sent: CloudEvent) -> dict[str, dict]:
    """Send ``sent`` from ``who``; their outcomes by ce_id once every one is stored and published."""
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    ids = "', '".join(event.id for event in sent)
    intake.send(who, *sent)
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", f"ce_id IN ('{ids}')") >= len(sent))
    found = decoded(outcomes(settings.kafka_bootstrap, start, intake.departments[who], len(sent)))
    return {outcome["ce_id"]: outcome for outcome in found}


def test_a_command_naming_another_department_as_its_source_is_refused_and_recorded(intake, consumer, engine, schema,
                                                                                 settings):
    other = intake.departments["other_district"]
    posing, own = command(REGISTER, enterprise(), source=other.source), command(REGISTER, enterprise())
    found = _run(intake, consumer, engine, schema, settings, "district", posing, own)
    refused = found[posing.id]
    assert refused["status"] == "refused" and refused["http_status"] == 403
    assert refused["error"]["field"] == "ce_source" and refused["error"]["rule"] == SOURCE_RULE
    assert other.source in refused["error"]["message"]
    assert found[own.id]["status"] == "accepted"  # the batch around it commits
    assert count(engine, schema, "entities", f"uscc = '{posing.data['uscc']}'") == 0
    assert count(engine, schema, "refused_commands", f"permission = 'intake.source' AND target = '{posing.id}'") == 1


def test_ce_time_must_be_rfc_3339_and_is_kept_as_the_department_s_claim_not_the_event_s_time(
        intake, consumer, engine, schema, settings):
    letters = dead_letters_end(settings)
    claimed = command(REGISTER, enterprise(), time=datetime.fromisoformat("2016-08-15T09:30:00+08:00"))
    sloppy = command(REGISTER, enterprise())
    start = results_end(settings.kafka_bootstrap, intake.departments.values())
    intake.send("district", claimed)
    department = intake.departments["district"]
    headers = [(name, value) if name != "ce_source" else (name, department.source.encode())
               for name, value in binary_headers(sloppy)] + [("ce_time", b"2016-08-15 09:30")]
    intake.send_raw("district", json.dumps(sloppy.data).encode(), headers)
    both = f"ce_id IN ('{claimed.id}', '{sloppy.id}')"
    intake.drain(consumer, until=lambda: count(engine, schema, "intake_outcomes", both) >= 2)
    found = {o["ce_id"]: o for o in decoded(outcomes(settings.kafka_bootstrap, start, department, 2))}
    assert found[claimed.id]["status"] == "accepted"
    assert found[claimed.id]["department_time"] == "2016-08-15T01:30:00Z"
    event_id = found[claimed.id]["event_ids"][0]
    # the event's times are the platform's own: the department's clock is not trusted with them
    assert count(engine, schema, "events", f"event_id = '{event_id}' AND occurred_at > '2017-01-01'") == 1
    assert found[sloppy.id]["status"] == "malformed" and "RFC 3339" in found[sloppy.id]["reason"]
    assert any("RFC 3339" in reason for reason in dead_letter_reasons(settings, department.topic, letters, 1))


def test_ce_subject_when_given_must_name_what_the_command_acts_on(intake, consumer, engine, schema, settings):
    body = enterprise()
    registered = command(REGISTER, body, subject=body["uscc"])
    first = _run(intake, consumer, engine, schema, settings, "district", registered)
    assert first[registered.id]["status"] == "accepted"
    entity_id = first[registered.id]["answer"]["entity_id"]
    flag = {"entity_id": entity_id, "flag": "shell", "reason": "无经营场所"}
    right = command(FLAG, flag, subject=entity_id)
    wrong = command(FLAG, {**flag, "flag": "zombie", "reason": "长期停业"}, subject="entity-someone-else")
    letters = dead_letters_end(settings)
    found = _run(intake, consumer, engine, schema, settings, "market", right, wrong)
    assert found[right.id]["status"] == "accepted"
    assert found[wrong.id]["status"] == "malformed"
    assert "entity-someone-else" in found[wrong.id]["reason"] and "entity_id" in found[wrong.id]["reason"]
    assert any("subject" in reason for reason in
               dead_letter_reasons(settings, intake.departments["market"].topic, letters, 1))
    assert count(engine, schema, "entities", f"entity_id = '{entity_id}' AND 'zombie' = ANY(flags)") == 0
