"""tlog-cosignature/v1 (Ed25519): the witness's signature commits to the time and the whole note text, its key
ID to the algorithm byte 0x04, and a cosignature by a trusted witness that does not verify rejects the note."""

import base64
import hashlib
import struct

import pytest

from platform_core.cosignature import CosignerKey, WitnessKey, cosignatures, cosigned_message
from platform_core.signed_note import EM_DASH, Checkpoint, NoteError, SignerKey, open_checkpoint, sign_note

LOG = SignerKey("campaign.example/unit/audit", bytes(range(32)))
WITNESS = WitnessKey("witness.example/w1", bytes(range(32, 64)))
TEXT = Checkpoint(LOG.name, 7, b"\x11" * 32, "2016-11-20T08:00:00.000000Z", 3).text()


def test_the_cosigned_message_and_key_id_are_as_c2sp_defines_them():
    assert cosigned_message("o\n1\nAA==\n", 1679315147) == b"cosignature/v1\ntime 1679315147\no\n1\nAA==\n"
    public = WITNESS.verifier().public_key
    assert WITNESS.verifier().key_id == hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    key = WITNESS.verifier().encode()
    assert key.startswith("witness.example/w1+") and base64.b64decode(key.split("+")[2])[0] == 0x04
    assert CosignerKey.parse(key) == WITNESS.verifier()


def test_a_cosigned_note_keeps_the_logs_signature_and_adds_a_timestamped_one():
    note = sign_note(TEXT, LOG) + WITNESS.cosign(TEXT, 1479600000)
    assert open_checkpoint(note, [LOG.verifier()]).id == 3  # the log's key still opens it; the line is ignored
    assert cosignatures(note, [WITNESS.verifier()]) == {"witness.example/w1": 1479600000}
    raw = base64.b64decode(note.splitlines()[-1].split(" ")[2])
    assert raw[:4] == WITNESS.verifier().key_id and struct.unpack(">Q", raw[4:12]) == (1479600000,)
    assert len(raw) == 4 + 8 + 64


def test_an_altered_note_or_timestamp_fails_and_another_witness_is_ignored():
    line = WITNESS.cosign(TEXT, 1479600000)
    with pytest.raises(NoteError, match="does not verify"):
        cosignatures(sign_note(TEXT.replace("\n7\n", "\n8\n"), LOG) + line, [WITNESS.verifier()])
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # the timestamp is signed
    forged = f"{EM_DASH} witness.example/w1 {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        cosignatures(sign_note(TEXT, LOG) + forged, [WITNESS.verifier()])
    other = WitnessKey("witness.example/w2", bytes(32))
    assert cosignatures(sign_note(TEXT, LOG) + other.cosign(TEXT, 1), [WITNESS.verifier()]) == {}


@pytest.mark.parametrize("text", ["w+00000000+AQ==", "w+zz+AQ==", "nope"])
def test_malformed_or_wrong_type_witness_keys_are_refused(text):
    with pytest.raises(NoteError):
        CosignerKey.parse(text)
    with pytest.raises(NoteError, match="type 0x04"):
        CosignerKey.parse(LOG.verifier().encode())  # a log key (type 0x01) is not a witness key
