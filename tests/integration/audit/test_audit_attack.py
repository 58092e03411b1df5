"""The attack the signer process exists for, on the real stack.

Someone with the database superuser rewrites one logged event consistently (the event-store row, the log's
leaf bytes and leaf hash, every stored subtree node above it and the head, the append-only triggers
bypassed), deletes the checkpoint row that covered it, and asks for a new checkpoint. Before the signer kept
its own record, the real key signed the forged tree and the verifier printed VERIFIED. Now the signer
refuses (and counts the refusal for the alert), and the verifier finds the removed checkpoint in the log
that recorded it, and the rewritten event under it.
"""

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from audit_fixtures import (
    ORIGIN, REPORTING_MIGRATIONS, TEST_KEY_SEED, create_topic, delete_checkpoints, delete_topic, make_signer,
    publish_outbox, reporting_store, rewrite_one_leaf_consistently, run_audit_processor,
)
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.db import migrate
from platform_core.envelope import Actor
from platform_core.events import NewEvent
from platform_core.service import ServiceContext, build_app
from reporting.audit.export import export_bundle
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import Report, check_events, load_keys, open_checkpoints, read_notes, verify_files
from reporting.entrypoints.audit_routes import router
from signer_process import running_signer

ACTOR = Actor(department="district_org:420102", user="clerk")
CITY = Principal(department="city_org", kind="city_org", user="attacker")


@pytest.fixture
def log_with_two_checkpoints(engine, settings, tmp_path):
    """41 entity events and two CheckpointSigned events through Kafka into the log: checkpoint 1 at size 20,
    checkpoint 2 at size 41 (logged at leaf 41), then 5 more events (size 47)."""
    schema = f"t_attack_{uuid.uuid4().hex[:10]}"
    migrate(engine, schema, REPORTING_MIGRATIONS)
    topic = create_topic(settings.kafka_bootstrap)
    events = reporting_store(engine, schema, topic)

    def add(count: int, expected_size: int) -> None:
        for k in range(count):
            events.append(f"entity-{uuid.uuid4()}", 0, [
                NewEvent("EntityProfileUpdated", {"employees": 1000 + k, "division_code": "420102"})], ACTOR)
        publish_outbox(engine, schema, settings.kafka_bootstrap)
        assert run_audit_processor(engine, settings.kafka_bootstrap, schema, topic, expected_size) == expected_size

    with running_signer(tmp_path / "signer", ORIGIN, TEST_KEY_SEED) as signer_process:
        signer = make_signer(engine, schema, topic, signer_process)
        add(20, 20)
        assert signer.sign_now("schedule").tree_size == 20
        add(20, 41)  # with checkpoint 1's CheckpointSigned
        assert signer.sign_now("bulletin").tree_size == 41
        add(0, 42)  # checkpoint 2's CheckpointSigned, at leaf 41 (events line 42)
        add(5, 47)
        yield schema, signer_process
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    delete_topic(settings.kafka_bootstrap, topic)


def test_a_consistent_rewrite_gets_no_signature_and_the_verifier_finds_it(engine, settings, log_with_two_checkpoints,
                                                                          tmp_path, monkeypatch):
    schema, signer = log_with_two_checkpoints
    leaf = rewrite_one_leaf_consistently(engine, schema, near=25)  # covered by checkpoint 2 only
    assert 20 <= leaf < 41
    delete_checkpoints(engine, schema, [2])

    # The attacker asks for a checkpoint through the real API, as the city organization department.
    for name, value in signer.reporting_env().items():
        monkeypatch.setenv(name, value)
    context = ServiceContext(schema, settings, engine, reporting_store(engine, schema, "test.unpublished.attack"),
                             REPORTING_MIGRATIONS)
    token = issuer_from_settings().issue(CITY)
    with TestClient(build_app(context, routers=[router])) as client:
        answer = client.post("/audit/checkpoints", headers={"Authorization": f"Bearer {token}"})
    print(f"\n--- POST /audit/checkpoints ---\n{answer.status_code} {answer.json()}")
    assert answer.status_code == 409 and answer.json()["error"] == "signer_refused"
    assert answer.json()["reason"] == "inconsistent"
    assert "not provably consistent with checkpoint 2 (size 41)" in answer.json()["message"]
    assert signer.metric("campaign_audit_signer_refusals_total", reason="inconsistent") == 1
    assert "refused to sign" in signer.log() and "inconsistent" in signer.log()
    status = signer.cli("status")
    assert status.returncode == 0 and "checkpoint 2, size 41" in status.stdout  # its record did not move
    with engine.connect() as conn:
        assert [c.id for c in AuditLogStore(schema).checkpoints(conn)] == [1]  # nothing half-written
        assert conn.execute(sa.text(f"SELECT count(*) FROM {schema}.events WHERE type = 'CheckpointSigned'")
                            ).scalar_one() == 2

    # Offline. What the verifier checked before, alone, passes: checkpoint 1 does not cover the rewritten event.
    export = tmp_path / "export"
    export_bundle(engine, schema, export, "event-stores", stores=[schema])
    keys = load_keys((export / "audit-keys.vkey").read_text())
    before = Report()
    with (export / "events.jsonl").open("rb") as lines:
        check_events(lines, open_checkpoints(read_notes(export / "checkpoints"), keys, ORIGIN, before), before)
    assert before.ok, before.render()
    # The verifier now also finds checkpoint 2 in the log that recorded it, and the event rewritten under it.
    report = verify_files(export / "audit-keys.vkey", export / "checkpoints", export / "events.jsonl", origin=ORIGIN)
    print(f"\n--- verifier output ---\n{report.render()}")
    text = report.render()
    assert not report.ok
    assert "events 1..20 reproduce the root signed in 00000001-size-20.txt" in text
    assert "checkpoint 2 recorded at events line 42 (size 41) is not among the checkpoints given" in text
    assert "checkpoint 2 recorded at events line 42 (size 41): the root recomputed from the events is" in text
    assert "an event in lines 21..41 was altered, removed, added or reordered" in text
    # An inspector comparing with the signer's own notes file gets checkpoint 2 back, and the same verdict.
    notes = signer.state_dir / "signed-notes.jsonl"
    compared = verify_files(export / "audit-keys.vkey", [export / "checkpoints", notes], export / "events.jsonl",
                            origin=ORIGIN)
    assert "checkpoint signed-notes.jsonl#2 (size 41): the root recomputed from the events is" in compared.render()
