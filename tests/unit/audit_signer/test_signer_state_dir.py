"""The signer's files: atomic state, append-only notes, roll-forward after a crash between the two."""

import base64
import json
import os

import pytest

from audit_signer.domain import SignerState
from audit_signer.state_dir import NOTES_FILE, STATE_FILE, SignedRecord, SignerDirectory, StateDamaged

ORIGIN = "campaign.example/test/audit"


def record(n: int, size: int) -> SignedRecord:
    return SignedRecord(n, size, base64.b64encode(bytes([n]) * 32).decode(), "2016-11-20T08:00:00.000000Z",
                        "manual", "key", f"note {n}\n")


def test_state_and_notes_round_trip(tmp_path):
    folder = SignerDirectory(tmp_path / "signer")
    with folder.locked():
        assert folder.current(ORIGIN) is None
        folder.write_state(SignerState.empty(ORIGIN))
        for n in (1, 2, 3):
            folder.append_record(record(n, n * 10))
            folder.write_state(SignerState(ORIGIN, n, n * 10, bytes([n]) * 32))
        assert folder.current(ORIGIN) == SignerState(ORIGIN, 3, 30, bytes([3]) * 32)
    assert [r.checkpoint_id for r in folder.records(after_id=1)] == [2, 3]
    assert folder.last_record() == record(3, 30)
    assert oct((tmp_path / "signer" / STATE_FILE).stat().st_mode & 0o777) == "0o600"
    assert not list((tmp_path / "signer").glob(".*.tmp"))  # the temporary file was renamed


def test_a_crash_after_the_note_and_before_the_state_rolls_forward(tmp_path):
    folder = SignerDirectory(tmp_path)
    folder.write_state(SignerState(ORIGIN, 1, 10, bytes([1]) * 32))
    folder.append_record(record(1, 10))
    folder.append_record(record(2, 20))  # the process died here
    with folder.locked():
        assert folder.current(ORIGIN) == SignerState(ORIGIN, 2, 20, bytes([2]) * 32)
    assert json.loads((tmp_path / STATE_FILE).read_text())["checkpoint_id"] == 2


@pytest.mark.parametrize("damage", ["notes-removed", "notes-ahead-by-two", "state-removed", "other-log"])
def test_records_no_crash_explains_are_refused(tmp_path, damage):
    folder = SignerDirectory(tmp_path)
    folder.write_state(SignerState(ORIGIN, 1, 10, bytes([1]) * 32))
    folder.append_record(record(1, 10))
    origin = ORIGIN
    if damage == "notes-removed":
        os.remove(tmp_path / NOTES_FILE)
    elif damage == "notes-ahead-by-two":
        folder.append_record(record(3, 30))
    elif damage == "state-removed":
        os.remove(tmp_path / STATE_FILE)
    else:
        origin = "other.example/log"
    with pytest.raises(StateDamaged):
        folder.current(origin)
