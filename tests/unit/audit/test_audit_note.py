"""Signed notes and checkpoints against the published reference example.

Known answer: the example key, text and signed note in the package documentation of
golang.org/x/mod/sumdb/note (note.go, "Here is a well-formed signed note"); the
checkpoint layout from c2sp.org/tlog-checkpoint and c2sp.org/signed-note (C2SP/C2SP).
"""

import base64

import pytest

from platform_core.signed_note import (
    EM_DASH, Checkpoint, NoteError, SignerKey, VerifierKey, key_id, open_checkpoint, open_note, sign_note,
)

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + "\n" + f"{EM_DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def go_signer() -> SignerKey:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return SignerKey("PeterNeumann", raw[1:])


def test_signing_reproduces_the_reference_note_byte_for_byte():
    signer = go_signer()
    assert signer.verifier().encode() == GO_VKEY
    assert key_id("PeterNeumann", signer.verifier().public_key).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, signer) == GO_NOTE


def test_opening_the_reference_note():
    text, keys = open_note(GO_NOTE, [VerifierKey.parse(GO_VKEY)])
    assert text == GO_TEXT and keys[0].name == "PeterNeumann"


def test_altered_text_or_signature_is_rejected():
    key = VerifierKey.parse(GO_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptograph"), [key])
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(GO_NOTE, [SignerKey("PeterNeumann", b"\x07" * 32).verifier()])


def test_unknown_signatures_are_ignored_for_rotation():
    old, new = SignerKey("log.example/a", b"\x01" * 32), SignerKey("log.example/a", b"\x02" * 32)
    both = sign_note("log.example/a\n1\n" + base64.b64encode(b"\0" * 32).decode() + "\n", old, new)
    assert open_note(both, [new.verifier()])[1] == [new.verifier()]
    assert open_note(both, [old.verifier()])[1] == [old.verifier()]


def test_verifier_key_manglings_are_refused():
    for bad in (GO_VKEY[:-1], GO_VKEY.replace("c74f20a3", "c74f20a4"), "PeterNeumann+c74f20a3",
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"):
        with pytest.raises(NoteError):
            VerifierKey.parse(bad)


def test_checkpoint_round_trip_and_c2sp_layout():
    signer = SignerKey("campaign.example/wuhan-2016/audit", bytes(range(32)))
    cp = Checkpoint("campaign.example/wuhan-2016/audit", 20852163, b"\xab" * 32, "2016-11-20T08:00:00.000000Z")
    note = sign_note(cp.text(), signer)
    lines = note.split("\n")
    assert lines[:5] == ["campaign.example/wuhan-2016/audit", "20852163", base64.b64encode(b"\xab" * 32).decode(),
                         "time 2016-11-20T08:00:00.000000Z", ""]
    assert lines[5].startswith(f"{EM_DASH} campaign.example/wuhan-2016/audit ")
    assert open_checkpoint(note, [signer.verifier()], origin=cp.origin) == cp
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, [signer.verifier()], origin="other.example/log")


def test_the_checkpoint_id_is_a_signed_extension_line():
    signer = SignerKey("campaign.example/wuhan-2016/audit", bytes(range(32)))
    cp = Checkpoint(signer.name, 41, b"\xab" * 32, "2016-11-20T08:00:00.000000Z", 7)
    note = sign_note(cp.text(), signer)
    assert note.split("\n")[3:6] == ["time 2016-11-20T08:00:00.000000Z", "id 7", ""]
    assert open_checkpoint(note, [signer.verifier()]).id == 7
    with pytest.raises(NoteError, match="does not verify"):  # renumbering needs the key
        open_checkpoint(note.replace("\nid 7\n", "\nid 6\n"), [signer.verifier()])
    assert Checkpoint.parse(cp.text().replace("id 7\n", "")).id is None  # notes signed before ids existed


@pytest.mark.parametrize("line", ["id 0", "id 07", "id x", "id -1"])
def test_malformed_checkpoint_ids_are_refused(line):
    with pytest.raises(NoteError, match="checkpoint id"):
        Checkpoint.parse("o\n1\n" + base64.b64encode(b"\0" * 32).decode() + f"\n{line}\n")


@pytest.mark.parametrize("text", ["o\n01\n" + base64.b64encode(b"\0" * 32).decode() + "\n",
                                  "o\n1\nAAAA\n", "o\n1\n", "o\n-1\n" + base64.b64encode(b"\0" * 32).decode() + "\n"])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_the_c2sp_example_checkpoint_parses():
    cp = Checkpoint.parse("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    assert (cp.origin, cp.size, cp.time) == ("example.com/behind-the-sofa", 20852163, None)


def test_the_example_in_the_operator_doc_is_genuine():
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "audit.md").read_text(encoding="utf-8")
    example = doc.split("```\ncampaign.example/wuhan-2016/audit\n41\n", 1)[1].split("```", 1)[0]
    note = "campaign.example/wuhan-2016/audit\n41\n" + example
    key = VerifierKey.parse("campaign.example/wuhan-2016/audit+71405042+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4")
    assert key == SignerKey("campaign.example/wuhan-2016/audit", bytes(range(32))).verifier()
    from platform_core.merkle import root_from_leaves
    assert open_checkpoint(note, [key]).root_hash == root_from_leaves([b"x"] * 41)
