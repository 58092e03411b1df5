"""The witness (c2sp.org/tlog-witness) over a real state directory: it cosigns only checkpoints the log's key
signed that extend the last one it cosigned, answers 409 with its size, and counts its refusals."""

import base64

import pytest
from fastapi.testclient import TestClient

from audit_signer.signing import AlreadyInitialized
from audit_signer.state_dir import SignerDirectory
from audit_signer.witness import BadSubmission, Witness, parse_submission
from audit_signer.witness_http import create_witness_app
from platform_core.cosignature import WitnessKey, cosignatures
from platform_core.merkle import MemoryTree
from platform_core.signed_note import Checkpoint, SignerKey, sign_note

LOG = SignerKey("campaign.example/unit/audit", bytes(range(32)))
KEY = WitnessKey("witness.example/w1", bytes(range(32, 64)))


def note(t: MemoryTree, size: int, checkpoint_id: int, key: SignerKey = LOG) -> str:
    return sign_note(Checkpoint(key.name, size, t.root(size), "2016-11-20T08:00:00.000000Z", checkpoint_id).text(), key)


def body(t: MemoryTree, old: int, new: int, checkpoint_id: int, key: SignerKey = LOG) -> bytes:
    proof = "".join(base64.b64encode(p).decode() + "\n" for p in t.consistency_proof(old, new))
    return f"old {old}\n{proof}\n{note(t, new, checkpoint_id, key)}".encode()


@pytest.fixture
def witness(tmp_path) -> Witness:
    return Witness(SignerDirectory(tmp_path / "witness"), KEY, LOG.verifier(), now=lambda: 1479600000)


@pytest.fixture
def client(witness) -> TestClient:
    return TestClient(create_witness_app(witness))


def refusals(client, reason: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'campaign_audit_witness_refusals_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    raise AssertionError(reason)


def test_it_cosigns_consistent_checkpoints_in_turn(client, witness):
    witness.init_empty()
    t = MemoryTree([f"e{i}".encode() for i in range(30)])
    first = client.post("/add-checkpoint", content=body(t, 0, 12, 1))
    assert first.status_code == 200, first.text
    assert cosignatures(note(t, 12, 1) + first.text, [KEY.verifier()]) == {"witness.example/w1": 1479600000}
    assert client.post("/add-checkpoint", content=body(t, 12, 30, 2)).status_code == 200
    assert witness.state().tree_size == 30 and witness.directory.last_record().checkpoint_id == 2


def test_a_stale_old_size_is_409_with_the_size_as_tlog_witness_says(client, witness):
    witness.init_empty()
    t = MemoryTree([f"e{i}".encode() for i in range(30)])
    client.post("/add-checkpoint", content=body(t, 0, 12, 1))
    stale = client.post("/add-checkpoint", content=body(t, 0, 30, 2))
    assert stale.status_code == 409 and stale.text == "12\n"
    assert stale.headers["content-type"].startswith("text/x.tlog.size")


def test_a_forged_history_signed_by_the_log_key_gets_no_cosignature(client, witness):
    """What the witness adds: should the signer's record be reset (or its key stolen), the witness's own
    record still refuses a rewritten history."""
    witness.init_empty()
    genuine = MemoryTree([f"e{i}".encode() for i in range(30)])
    client.post("/add-checkpoint", content=body(genuine, 0, 20, 1))
    forged = MemoryTree([b"forged" if i == 3 else f"e{i}".encode() for i in range(30)])
    before = refusals(client, "inconsistent")
    refused = client.post("/add-checkpoint", content=body(forged, 20, 30, 2))
    assert refused.status_code == 422 and "inconsistent" in refused.text
    assert refusals(client, "inconsistent") == before + 1
    assert client.post("/add-checkpoint", content=body(forged, 20, 20, 2)).status_code == 409  # a fork
    assert witness.state().tree_size == 20


def test_only_the_logs_key_and_origin_are_cosigned(client, witness):
    witness.init_empty()
    t = MemoryTree([b"a", b"b"])
    stranger = SignerKey(LOG.name, bytes(32))
    assert client.post("/add-checkpoint", content=body(t, 0, 2, 1, stranger)).status_code == 403
    other_log = SignerKey("other.example/log", bytes(range(32)))
    assert client.post("/add-checkpoint", content=body(t, 0, 2, 1, other_log)).status_code == 404
    assert client.post("/add-checkpoint", content=b"old 3\n\n" + note(t, 2, 1).encode()).status_code == 400
    assert witness.state().tree_size == 0


@pytest.mark.parametrize("raw", [b"old 1\n", b"new 1\n\nx", b"old 01\n\nx", b"old 1\n!!\n\nx", b"\xff\n\n"])
def test_malformed_bodies_are_400(raw):
    with pytest.raises(BadSubmission) as refused:
        parse_submission(raw)
    assert refused.value.status == 400


def test_uninitialised_it_cosigns_nothing_and_adopts_only_the_logs_checkpoints(client, witness):
    t = MemoryTree([b"a"] * 6)
    assert client.post("/add-checkpoint", content=body(t, 0, 6, 1)).status_code == 503
    assert client.get("/readyz").status_code == 503
    with pytest.raises(Exception, match="no signature by a trusted key"):
        witness.adopt(note(t, 6, 4, SignerKey(LOG.name, bytes(32))))
    assert witness.adopt(note(t, 6, 4)).tree_size == 6
    with pytest.raises(AlreadyInitialized):
        witness.init_empty()
    assert client.get("/readyz").json()["tree_size"] == 6
