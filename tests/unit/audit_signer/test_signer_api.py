"""The signer's HTTP API over a real state directory: who may call it, what it signs, what it refuses,
and the refusal counter Prometheus alerts on."""

import base64
import json

import pytest
from fastapi.testclient import TestClient

from audit_signer.http import create_app
from audit_signer.signing import AlreadyInitialized, LogSigner
from audit_signer.state_dir import SignerDirectory
from platform_core.merkle import MemoryTree
from platform_core.signed_note import NoteError, SignerKey, open_checkpoint

ORIGIN = "campaign.example/test/audit"
KEY = SignerKey(ORIGIN, bytes(range(32)))
SECRET = "s" * 40
CALLER = {"Authorization": f"Bearer {SECRET}"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(t: MemoryTree, old: int, new: int, reason: str = "manual") -> dict:
    return {"old_size": old, "tree_size": new, "root_hash": b64(t.root(new)),
            "proof": [b64(p) for p in t.consistency_proof(old, new)], "reason": reason}


def refusals(client: TestClient, reason: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'campaign_audit_signer_refusals_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no refusal series for {reason}")


@pytest.fixture
def signer(tmp_path) -> LogSigner:
    return LogSigner(SignerDirectory(tmp_path / "signer"), KEY)


@pytest.fixture
def client(signer) -> TestClient:
    return TestClient(create_app(signer, SECRET))


def test_only_the_client_secret_may_call(client, signer):
    signer.init_empty()
    t = MemoryTree([b"a", b"b"])
    assert client.post("/checkpoints", json=body(t, 0, 2)).status_code == 401
    wrong = client.post("/checkpoints", json=body(t, 0, 2), headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401 and wrong.json()["field"] == "Authorization"
    assert client.get("/checkpoints/latest").status_code == 401
    assert client.get("/checkpoints").status_code == 401
    assert client.get("/healthz").status_code == 200  # operations stay open on loopback
    assert signer.state().checkpoint_id == 0  # nothing was signed


def test_uninitialised_it_refuses_everything_until_an_operator_decides(client, signer):
    t = MemoryTree([b"a"])
    before = refusals(client, "not_initialized")
    answer = client.post("/checkpoints", json=body(t, 0, 1), headers=CALLER)
    assert answer.status_code == 503 and answer.json()["reason"] == "not_initialized"
    assert refusals(client, "not_initialized") == before + 1
    assert client.get("/readyz").status_code == 503
    signer.init_empty()
    assert client.get("/readyz").json() == {"status": "ready", "checkpoint_id": 0, "tree_size": 0}


def test_it_signs_consecutive_ids_and_keeps_every_note(client, signer):
    signer.init_empty()
    t = MemoryTree([f"e{i}".encode() for i in range(41)])
    first = client.post("/checkpoints", json=body(t, 0, 20, "schedule"), headers=CALLER)
    assert first.status_code == 201, first.text
    second = client.post("/checkpoints", json=body(t, 20, 41, "bulletin"), headers=CALLER).json()
    checkpoint = open_checkpoint(second["note"], [KEY.verifier()], ORIGIN)
    assert (checkpoint.id, checkpoint.size, checkpoint.root_hash) == (2, 41, t.root(41))
    assert second["verifier_key"] == KEY.verifier().encode() and second["reason"] == "bulletin"
    latest = client.get("/checkpoints/latest", headers=CALLER).json()
    assert (latest["checkpoint_id"], latest["tree_size"], latest["root_hash"]) == (2, 41, b64(t.root(41)))
    notes = client.get("/checkpoints", params={"after_id": 0}, headers=CALLER).json()
    assert [n["checkpoint_id"] for n in notes] == [1, 2] and notes[0]["note"] == first.json()["note"]


def test_a_forged_tree_is_refused_and_counted(client, signer):
    signer.init_empty()
    genuine = MemoryTree([f"e{i}".encode() for i in range(30)])
    assert client.post("/checkpoints", json=body(genuine, 0, 20), headers=CALLER).status_code == 201
    forged = MemoryTree([b"forged" if i == 7 else f"e{i}".encode() for i in range(30)])
    before = refusals(client, "inconsistent")
    answer = client.post("/checkpoints", json=body(forged, 20, 30), headers=CALLER)
    assert answer.status_code == 422 and answer.json()["reason"] == "inconsistent"
    assert "not provably consistent with checkpoint 1 (size 20)" in answer.json()["message"]
    assert refusals(client, "inconsistent") == before + 1
    fork = client.post("/checkpoints", json=body(forged, 20, 20), headers=CALLER)
    assert fork.status_code == 409 and fork.json()["reason"] == "fork"
    assert signer.state().checkpoint_id == 1  # the record did not move


def test_a_stale_old_size_gets_the_signed_size_back(client, signer):
    signer.init_empty()
    t = MemoryTree([f"e{i}".encode() for i in range(30)])
    client.post("/checkpoints", json=body(t, 0, 20), headers=CALLER)
    stale = client.post("/checkpoints", json=body(t, 10, 30), headers=CALLER)
    assert stale.status_code == 409
    assert (stale.json()["tree_size"], stale.json()["checkpoint_id"], stale.json()["field"]) == (20, 1, "old_size")


@pytest.mark.parametrize("change", [{"root_hash": "AAAA"}, {"proof": ["not base64!"]}, {"reason": "whim"},
                                    {"old_size": -1}, {"proof": [b64(b"\0" * 32)] * 64}])
def test_malformed_requests_are_422_naming_the_field(client, signer, change):
    signer.init_empty()
    t = MemoryTree([b"a", b"b"])
    answer = client.post("/checkpoints", json={**body(t, 0, 2), **change}, headers=CALLER)
    assert answer.status_code == 422 and answer.json()["field"].split(".")[0] in change
    assert signer.state().checkpoint_id == 0


def test_adopting_needs_a_note_of_its_own_key_and_happens_once(signer, tmp_path):
    t = MemoryTree([b"a"] * 5)
    foreign = LogSigner(SignerDirectory(tmp_path / "other"), SignerKey(ORIGIN, bytes(32)))
    foreign.init_empty()
    from audit_signer.domain import SignRequest
    stranger_note = foreign.sign(SignRequest(0, 5, t.root(5), (), "manual")).note
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        signer.adopt(stranger_note)
    ours = LogSigner(SignerDirectory(tmp_path / "earlier"), KEY)
    ours.init_empty()
    note = ours.sign(SignRequest(0, 5, t.root(5), (), "manual")).note
    state = signer.adopt(note)
    assert (state.checkpoint_id, state.tree_size) == (1, 5)
    assert signer.records()[0].reason == "adopted"
    with pytest.raises(AlreadyInitialized):
        signer.init_empty()


def test_a_damaged_record_signs_nothing_and_is_counted(client, signer):
    signer.init_empty()
    (signer.directory.path / "signed-notes.jsonl").write_text(json.dumps({
        "checkpoint_id": 5, "tree_size": 9, "root_hash": b64(b"\0" * 32), "signed_at": None, "reason": "manual",
        "verifier_key": "k", "note": "n"}) + "\n")
    before = refusals(client, "state_damaged")
    answer = client.post("/checkpoints", json=body(MemoryTree([b"a"]), 0, 1), headers=CALLER)
    assert answer.status_code == 503 and answer.json()["reason"] == "state_damaged"
    assert "state.json records checkpoint 0" in answer.json()["message"]
    assert client.get("/checkpoints/latest", headers=CALLER).status_code == 503
    assert refusals(client, "state_damaged") == before + 2
    assert client.get("/readyz").json()["status"] == "state_damaged"
