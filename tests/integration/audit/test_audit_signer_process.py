"""Reporting and the signer process on the real stack (a scratch log in PostgreSQL, a real signer on a free
port): a note signed when reporting's transaction then failed is not lost; the signer's record survives a
SIGKILL; a signer that is down, misconfigured, not initialised or behind the database signs nothing and
reporting writes nothing."""

import os
import signal

import pytest
import sqlalchemy as sa

from audit_fixtures import (  # noqa: F401 (fixture)
    ORIGIN, TEST_KEY_SEED, audit_schema, envelope, make_signer, signer_process,
)
from reporting.audit.checkpoints import SignerBehind
from reporting.audit.export import export_bundle
from reporting.audit.signer_client import SignerClient, SignerUnavailable
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import verify_files
from signer_process import running_signer, serving

TOPIC = "test.unpublished.signer"  # CheckpointSigned events stay in the outbox here


def grow(engine, schema: str, count: int) -> None:
    with engine.begin() as conn:
        size = AuditLogStore(schema).head(conn)[0]
        AuditLogStore(schema).append(conn, [envelope(size + i) for i in range(count)])


def stored(engine, schema: str) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [(c.id, c.tree_size) for c in AuditLogStore(schema).checkpoints(conn)]


def checkpoint_events(engine, schema: str) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text(
            f"SELECT (payload->>'checkpoint_id')::int FROM {schema}.events WHERE type = 'CheckpointSigned'"
            " ORDER BY stream_version"))]


def test_a_note_signed_before_a_failed_transaction_is_stored_by_the_next_signing(engine, audit_schema,
                                                                                  signer_process, tmp_path):
    signer = make_signer(engine, audit_schema, TOPIC, signer_process)
    grow(engine, audit_schema, 10)
    with pytest.raises(RuntimeError, match="the bulletin's insert failed"):
        with engine.begin() as conn:  # as a bulletin: sign inside the caller's transaction, which then fails
            signer.sign_in(conn, "bulletin")
            raise RuntimeError("the bulletin's insert failed")
    assert stored(engine, audit_schema) == []  # rolled back ...
    kept = signer_process.state_dir / "signed-notes.jsonl"
    assert '"checkpoint_id": 1' in kept.read_text()  # ... but the signer kept the note it signed

    assert signer.sign_if_grown() is None  # the schedule's tick stores it, and finds nothing new to sign
    assert stored(engine, audit_schema) == [(1, 10)]
    grow(engine, audit_schema, 5)
    assert signer.sign_now("manual").id == 2
    assert stored(engine, audit_schema) == [(1, 10), (2, 15)] and checkpoint_events(engine, audit_schema) == [1, 2]

    export_bundle(engine, audit_schema, tmp_path, "log", stores=[audit_schema])
    report = verify_files(tmp_path / "audit-keys.vkey", tmp_path / "checkpoints", tmp_path / "events.jsonl",
                          origin=ORIGIN)
    assert report.ok and "checkpoint ids 1..2 follow one another without a gap" in report.render(), report.render()


def test_the_signers_record_survives_a_sigkill(engine, audit_schema, signer_process):
    signer = make_signer(engine, audit_schema, TOPIC, signer_process)
    grow(engine, audit_schema, 8)
    assert signer.sign_now("manual").id == 1
    os.kill(signer_process.process.pid, signal.SIGKILL)
    signer_process.process.wait(10)
    with pytest.raises(SignerUnavailable, match="cannot be reached"):
        signer.sign_now("manual")
    assert stored(engine, audit_schema) == [(1, 8)]  # nothing half-written while it was down
    with serving(signer_process):
        grow(engine, audit_schema, 3)
        assert signer.sign_now("manual").id == 2
    assert stored(engine, audit_schema) == [(1, 8), (2, 11)]


def test_only_the_client_secret_gets_a_signature(engine, audit_schema, signer_process):
    grow(engine, audit_schema, 4)
    impostor = make_signer(engine, audit_schema, TOPIC, signer_process)
    impostor.signer = SignerClient(signer_process.url, "a-guess-at-the-secret-" * 3, ORIGIN)
    with pytest.raises(SignerUnavailable, match="answered 401"):
        impostor.sign_now("manual")
    assert stored(engine, audit_schema) == [] and checkpoint_events(engine, audit_schema) == []


def test_an_uninitialised_signer_refuses_until_an_operator_adopts_a_checkpoint_of_its_key(engine, audit_schema,
                                                                                        tmp_path):
    grow(engine, audit_schema, 6)
    with running_signer(tmp_path / "first", ORIGIN, TEST_KEY_SEED) as first:
        assert make_signer(engine, audit_schema, TOPIC, first).sign_now("manual").id == 1
    with running_signer(tmp_path / "second", ORIGIN, TEST_KEY_SEED, init=False) as second:
        signer = make_signer(engine, audit_schema, TOPIC, second)
        with pytest.raises(SignerUnavailable, match="python -m audit_signer init"):
            signer.sign_now("manual")
        assert second.metric("campaign_audit_signer_refusals_total", reason="not_initialized") == 1
        note = tmp_path / "latest.txt"
        with engine.connect() as conn:
            note.write_text(AuditLogStore(audit_schema).latest_checkpoint(conn).note)
        adopted = second.cli("init", "--adopt", str(note))
        assert adopted.returncode == 0 and "checkpoint 1, size 6" in adopted.stdout, adopted.stdout + adopted.stderr
        again = second.cli("init", "--empty")
        assert again.returncode == 1 and "never replaced" in again.stderr
        grow(engine, audit_schema, 2)
        assert signer.sign_now("manual").id == 2  # the record continues: ids without a gap
    with running_signer(tmp_path / "stranger", ORIGIN, init=False) as stranger:  # another key
        refused = stranger.cli("init", "--adopt", str(note))
        assert refused.returncode == 1 and "no signature by a trusted key" in refused.stderr


def test_a_signer_behind_the_database_is_refused_by_reporting(engine, audit_schema, tmp_path):
    grow(engine, audit_schema, 3)
    with running_signer(tmp_path / "genuine", ORIGIN, TEST_KEY_SEED) as genuine:
        signer = make_signer(engine, audit_schema, TOPIC, genuine)
        signer.sign_now("manual")
        grow(engine, audit_schema, 3)
        signer.sign_now("manual")
    with running_signer(tmp_path / "restored", ORIGIN, TEST_KEY_SEED) as restored:  # an empty record again
        with pytest.raises(SignerBehind, match="ends at checkpoint 0, this database holds checkpoint 2"):
            make_signer(engine, audit_schema, TOPIC, restored).sign_now("manual")
    assert stored(engine, audit_schema) == [(1, 3), (2, 6)]


def test_the_schedule_asks_the_signer_when_the_log_grew(engine, audit_schema, signer_process):
    import time

    from reporting.audit.checkpoints import start_schedule

    calls = []

    def signer():  # the schedule builds its client per tick: the first one fails, as an unconfigured one would
        calls.append(1)
        if len(calls) == 1:
            raise SignerUnavailable("CAMPAIGN_SIGNER_CLIENT_SECRET_FILE is not set")
        return make_signer(engine, audit_schema, TOPIC, signer_process)

    grow(engine, audit_schema, 7)
    stop = start_schedule(signer, 0.2)
    try:
        deadline = time.monotonic() + 30
        while not stored(engine, audit_schema) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
    assert stored(engine, audit_schema) == [(1, 7)] and len(calls) >= 2
