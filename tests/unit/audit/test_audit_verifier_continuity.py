"""The verifier's continuity checks on files: checkpoint ids without gaps, every checkpoint the log recorded
(CheckpointSigned) among those given, and the checkpoints printed on bulletins consistent with the latest."""

import json
import uuid
from pathlib import Path

from platform_core.envelope import canonical_json
from platform_core.merkle import MemoryTree
from platform_core.signed_note import Checkpoint, SignerKey, sign_note
from reporting.audit.verify import main

ORIGIN = "campaign.example/unit/audit"
KEY = SignerKey(ORIGIN, bytes(range(32)))
TIME = "2016-11-20T08:00:00.000000Z"


def event(n: int) -> bytes:
    return canonical_json({"event_id": str(uuid.UUID(int=n + 1)), "type": "EntityRegistered", "payload": {"n": n}})


class Log:
    """A log whose checkpoints are signed as the signer does (ids 1, 2, ...) and recorded in the log itself
    as CheckpointSigned events right after, the way reporting appends them."""

    def __init__(self):
        self.lines: list[bytes] = []
        self.notes: dict[int, str] = {}

    def add(self, count: int) -> "Log":
        self.lines += [event(len(self.lines) + i) for i in range(count)]
        return self

    def sign(self, key: SignerKey = KEY, record: bool = True) -> str:
        size, number = len(self.lines), len(self.notes) + 1
        note = sign_note(Checkpoint(ORIGIN, size, MemoryTree(self.lines).root(size), TIME, number).text(), key)
        self.notes[number] = note
        if record:
            self.lines.append(canonical_json({"event_id": str(uuid.uuid4()), "type": "CheckpointSigned",
                                              "payload": {"checkpoint_id": number, "note": note}}))
        return note

    def export(self, tmp: Path, drop: tuple[int, ...] = (), lines: list[bytes] | None = None) -> list[str]:
        (tmp / "checkpoints").mkdir(parents=True)
        for number, note in self.notes.items():
            if number not in drop:
                size = note.split("\n")[1]
                (tmp / "checkpoints" / f"{number:08d}-size-{size}.txt").write_text(note, encoding="utf-8")
        (tmp / "keys.vkey").write_text(KEY.verifier().encode() + "\n", encoding="utf-8")
        (tmp / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in (lines or self.lines)))
        return ["--keys", str(tmp / "keys.vkey"), "--checkpoints", str(tmp / "checkpoints"),
                "--events", str(tmp / "events.jsonl"), "--origin", ORIGIN]


def verify(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def three_checkpoints() -> Log:
    log = Log().add(5)
    log.sign()
    log.add(4)
    log.sign()
    log.add(3)
    log.sign()
    return log


def test_a_whole_export_passes_every_continuity_check(tmp_path, capsys):
    code, out = verify(three_checkpoints().export(tmp_path), capsys)
    assert code == 0, out
    assert "checkpoint ids 1..3 follow one another without a gap" in out
    assert "the 3 checkpoint(s) recorded in the log are among the checkpoints given and the events reproduce their roots" in out


def test_a_checkpoint_removed_from_the_middle_is_a_gap_and_still_in_the_log(tmp_path, capsys):
    code, out = verify(three_checkpoints().export(tmp_path, drop=(2,)), capsys)
    assert code == 1
    assert "checkpoint ids 2 are missing between 1 and 3" in out
    assert "checkpoint 2 recorded at events line 11 (size 10) is not among the checkpoints given" in out


def test_the_latest_checkpoint_removed_shows_in_the_log_it_was_recorded_in(tmp_path, capsys):
    """No gap is visible when the newest checkpoint goes, but the log recorded it."""
    code, out = verify(three_checkpoints().export(tmp_path, drop=(3,)), capsys)
    assert code == 1 and "missing between" not in out
    assert "checkpoint 3 recorded at events line 15 (size 14) is not among the checkpoints given" in out


def test_an_event_rewritten_under_a_removed_checkpoint_is_caught_by_the_recorded_note(tmp_path, capsys):
    """The attack: a leaf only checkpoint 2 covers is rewritten and checkpoint 2 removed; checkpoint 1 still holds."""
    log = three_checkpoints()
    forged = list(log.lines)
    forged[7] = forged[7].replace(b'"n":7', b'"n":70')
    code, out = verify(log.export(tmp_path, drop=(2, 3), lines=forged), capsys)
    assert code == 1
    assert "events 1..5 reproduce the root signed in 00000001-size-5.txt" in out
    assert "checkpoint 2 recorded at events line 11 (size 10): the root recomputed from the events is" in out
    assert "an event in lines 6..10 was altered" in out


def test_ids_that_repeat_or_shrink_the_log_fail(tmp_path, capsys):
    log = three_checkpoints()
    argv = log.export(tmp_path)
    other = sign_note(Checkpoint(ORIGIN, 3, MemoryTree(log.lines).root(3), TIME, 3).text(), KEY)
    (tmp_path / "checkpoints" / "00000003-again.txt").write_text(other, encoding="utf-8")
    code, out = verify(argv, capsys)
    assert code == 1
    assert "both carry id 3 with different notes" in out
    assert "checkpoint 3 (size 3) is smaller than checkpoint 2 (size 10): a log never shrinks" in out


def test_checkpoints_of_other_logs_in_the_log_are_skipped_and_altered_ones_fail(tmp_path, capsys):
    log = three_checkpoints()
    stranger = SignerKey(ORIGIN, b"\x07" * 32)
    log.lines.append(canonical_json({"event_id": str(uuid.uuid4()), "type": "CheckpointSigned", "payload": {
        "note": sign_note(Checkpoint(ORIGIN, 2, b"\x01" * 32, TIME, 1).text(), stranger)}}))
    code, out = verify(log.export(tmp_path / "foreign"), capsys)
    assert code == 0 and "1 CheckpointSigned note(s) in the log belong to another log or key: not checked" in out
    altered = three_checkpoints()
    altered.lines[5] = altered.lines[5].replace(b"time 2016", b"time 2017")
    code, out = verify(altered.export(tmp_path / "altered"), capsys)
    assert code == 1 and "events line 6: the CheckpointSigned note the signature by" in out


def test_the_signers_notes_file_is_a_second_source_of_checkpoints(tmp_path, capsys):
    """Inspectors compare the export with the signer's own signed-notes.jsonl: a removed checkpoint is back."""
    log = three_checkpoints()
    argv = log.export(tmp_path, drop=(3,))
    notes = tmp_path / "signed-notes.jsonl"
    notes.write_text("".join(json.dumps({"checkpoint_id": n, "note": note}) + "\n" for n, note in log.notes.items()))
    code, out = verify(argv + ["--checkpoints", str(notes)], capsys)
    assert code == 0, out
    assert out.count("signature valid") == 3  # the same note from both sources counts once


def bulletin(tmp: Path, name: str, note: str, size: int | None = None) -> Path:
    folder = tmp / "bulletins" / name
    folder.mkdir(parents=True)
    (folder / "checkpoint.txt").write_text(note, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"checkpoint_tree_size": size or int(note.split("\n")[1])}))
    return folder


def test_bulletin_checkpoints_must_be_among_and_consistent_with_the_checkpoints(tmp_path, capsys):
    log = three_checkpoints()
    argv = log.export(tmp_path)
    bulletin(tmp_path, "2016-11-10", log.notes[2])
    code, out = verify(argv + ["--no-rederive"], capsys)  # bulletins/ beside checkpoints/ is found by default
    assert code == 0, out
    assert "events 1..10 reproduce the root signed in printed on bulletin 2016-11-10" in out
    assert "1 bulletin(s): figures not re-derived (--no-rederive)" in out

    removed = tmp_path / "removed"
    argv = log.export(removed, drop=(3,))
    bulletin(removed, "2016-11-25", log.notes[3], size=12)
    code, out = verify(argv + ["--no-rederive"], capsys)
    assert code == 1
    assert "bulletin 2016-11-25: its manifest names size 12, its signed checkpoint size 14" in out
    assert "bulletin 2016-11-25: its checkpoint (id 3, size 14) is not among the checkpoints given" in out
    assert "is newer than the latest checkpoint given (size 10): later checkpoints were removed" in out
