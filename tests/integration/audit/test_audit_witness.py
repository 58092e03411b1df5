"""The witness on the real stack: a signer configured with a witness hands out only cosigned checkpoints; when
the witness's record stands elsewhere, reporting proves the head to it from there; and should the signer's own
record be reset (its state directory wiped and started again), a rewritten history still gets no cosignature,
so no checkpoint. The verifier, given the witness key, requires the cosignature."""

import uuid

import pytest

from audit_fixtures import (  # noqa: F401 (fixture)
    ORIGIN, TEST_KEY_SEED, audit_schema, delete_checkpoints, envelope, make_signer, rewrite_one_leaf_consistently,
)
from platform_core.cosignature import CosignerKey, cosignatures
from platform_core.envelope import Actor
from platform_core.events import NewEvent
from reporting.audit.export import export_bundle
from reporting.audit.signer_client import SignerRefused
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import WitnessPolicy, verify_files
from signer_process import running_signer, running_witness, serving

TOPIC = "test.unpublished.witness"
ACTOR = Actor(department="district_org:420102", user="clerk")


def grow(engine, schema: str, count: int, store=None) -> None:
    """``count`` events in the log; with ``store``, also in the event store (the export reads them there)."""
    entries = []
    for _ in range(count):
        if store is not None:
            entries += store.append(f"entity-{uuid.uuid4()}", 0, [NewEvent("EntityProfileUpdated", {
                "employees": 1000, "division_code": "420102"})], ACTOR).events
        else:
            entries.append(envelope(0))
    with engine.begin() as conn:
        AuditLogStore(schema).append(conn, entries)


def test_checkpoints_carry_the_witness_cosignature_and_the_verifier_requires_it(engine, audit_schema, tmp_path):
    with running_signer(tmp_path / "signer", ORIGIN, TEST_KEY_SEED, witnessed=True) as signer:
        reporting = make_signer(engine, audit_schema, TOPIC, signer)
        grow(engine, audit_schema, 10, reporting.events)
        first = reporting.sign_now("manual")
        grow(engine, audit_schema, 5, reporting.events)
        second = reporting.sign_now("manual")
        witness_key = CosignerKey.parse(signer.witness.public_key)
        assert set(cosignatures(first.note, [witness_key])) == {"witness.example/test"}
        assert signer.witness.metric("campaign_audit_witness_cosignatures_total") == 2
    export_bundle(engine, audit_schema, tmp_path / "export", "event-stores", stores=[audit_schema])
    keys, checkpoints = tmp_path / "export" / "audit-keys.vkey", tmp_path / "export" / "checkpoints"
    policy = WitnessPolicy([witness_key])
    report = verify_files(keys, checkpoints, tmp_path / "export" / "events.jsonl", origin=ORIGIN, witnesses=policy)
    assert report.ok and "2 checkpoint(s) from id 1 on carry the cosignature of witness.example/test" in report.render(), \
        report.render()
    # the same checkpoint without its cosignature line: the verifier refuses it when the witness is configured
    bare = second.note[:second.note.rindex("\u2014 witness.example/test ")]
    (checkpoints / "00000002-size-15.txt").write_text(bare)
    report = verify_files(keys, checkpoints, origin=ORIGIN, witnesses=policy)
    assert "checkpoint 00000002-size-15.txt carries no cosignature by witness witness.example/test" in report.render()
    assert verify_files(keys, checkpoints, origin=ORIGIN).ok  # without a witness configured, the log's key suffices


def test_a_witness_at_another_size_is_given_a_proof_from_its_own_size(engine, audit_schema, tmp_path):
    with running_signer(tmp_path / "signer", ORIGIN, TEST_KEY_SEED, witnessed=True) as signer:
        reporting = make_signer(engine, audit_schema, TOPIC, signer)
        grow(engine, audit_schema, 8)
        assert reporting.sign_now("manual").tree_size == 8
        log_key = signer.cli("verifier-key").stdout.strip()
        signer.process.terminate()
        signer.process.wait(30)
        with running_witness(tmp_path / "new-witness", log_key) as fresh:  # a witness whose record is the empty log
            signer.witness = fresh
            with serving(signer):
                grow(engine, audit_schema, 4)
                cosigned = reporting.sign_now("manual")
        assert cosigned.id == 2 and set(cosignatures(cosigned.note, [CosignerKey.parse(fresh.public_key)]))
        status = fresh.cli("status")
        assert "size 12" in status.stdout, status.stdout + status.stderr


def test_a_reset_signer_record_cannot_get_a_rewritten_history_past_the_witness(engine, audit_schema, tmp_path):
    with running_signer(tmp_path / "signer", ORIGIN, TEST_KEY_SEED, witnessed=True) as signer:
        reporting = make_signer(engine, audit_schema, TOPIC, signer)
        grow(engine, audit_schema, 20, reporting.events)
        assert reporting.sign_now("manual").tree_size == 20
        grow(engine, audit_schema, 6, reporting.events)
        # the attacker controls the database and the signer's machine, not the witness: the signer's record is
        # wiped and started again as if the log were new, the history rewritten, every checkpoint row deleted
        signer.process.terminate()
        signer.process.wait(30)
        for path in signer.state_dir.iterdir():
            path.unlink()
        assert signer.cli("init", "--empty").returncode == 0
        rewrite_one_leaf_consistently(engine, audit_schema, near=5)
        delete_checkpoints(engine, audit_schema, [1])
        with serving(signer):
            with pytest.raises(SignerRefused) as refused:
                reporting.sign_now("manual")
            assert refused.value.reason == "witness_refused" and "inconsistent" in refused.value.message
            assert signer.metric("campaign_audit_signer_refusals_total", reason="witness_refused") == 1
        assert signer.witness.metric("campaign_audit_witness_refusals_total", reason="inconsistent") == 1
    with engine.connect() as conn:
        assert AuditLogStore(audit_schema).checkpoints(conn) == []  # no checkpoint of the forged history exists
