"""The offline verifier on files: what passes, and the message for each way an export can lie."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

from platform_core.envelope import canonical_json
from platform_core.merkle import MemoryTree
from platform_core.signed_note import Checkpoint, SignerKey, sign_note
from reporting.audit.verify import main

ORIGIN = "campaign.example/unit/audit"
KEY = SignerKey(ORIGIN, bytes(range(32)))


def events(n: int) -> list[bytes]:
    return [canonical_json({"event_id": str(uuid.UUID(int=i + 1)), "type": "EntityRegistered",
                            "payload": {"n": i, "名称": "武汉"}}) for i in range(n)]


def bundle(tmp: Path, lines: list[bytes], sizes=(4, 9), signer: SignerKey = KEY, export: list[bytes] | None = None):
    tree = MemoryTree(lines)
    (tmp / "checkpoints").mkdir()
    for size in sizes:
        note = sign_note(Checkpoint(ORIGIN, size, tree.root(size), "2016-11-20T08:00:00.000000Z").text(), signer)
        (tmp / "checkpoints" / f"size-{size}.txt").write_text(note, encoding="utf-8")
    (tmp / "keys.vkey").write_text(f"# the log's key\n{KEY.verifier().encode()}\n", encoding="utf-8")
    (tmp / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in (export if export is not None else lines)))
    return ["--keys", str(tmp / "keys.vkey"), "--checkpoints", str(tmp / "checkpoints"),
            "--events", str(tmp / "events.jsonl"), "--origin", ORIGIN]


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_an_honest_export_verifies(tmp_path, capsys):
    code, out = run(bundle(tmp_path, events(9)), capsys)
    assert code == 0, out
    assert "events 1..4 reproduce the root signed in size-4.txt" in out
    assert out.strip().endswith("VERIFIED: 5 check(s) passed, 0 failed")


def test_an_edited_event_is_located_between_checkpoints(tmp_path, capsys):
    lines = events(9)
    export = list(lines)
    export[6] = export[6].replace(b'"n":6', b'"n":60')
    code, out = run(bundle(tmp_path, lines, export=export), capsys)
    assert code == 1
    assert "events 1..4 reproduce the root" in out
    assert "an event in lines 5..9 was altered, removed, added or reordered" in out


def test_reordered_missing_repeated_and_non_canonical_events_fail(tmp_path, capsys):
    lines = events(9)
    cases = {
        "reordered": ([lines[1], lines[0]] + lines[2:], "an event in lines 1..4 was altered"),
        "missing": (lines[:8], "covers 9 events, the export holds only 8"),
        "repeated": (lines[:8] + [lines[0]], "event 00000000-0000-0000-0000-000000000001 is already at line 1"),
        "not canonical": (lines[:8] + [json.dumps(json.loads(lines[8])).encode()], "events line 9: not a canonical event"),
    }
    for name, (export, message) in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        code, out = run(bundle(folder, lines, export=export), capsys)
        assert code == 1 and message in out, f"{name}:\n{out}"


def test_checkpoints_by_another_key_or_forked_are_refused(tmp_path, capsys):
    stranger = SignerKey(ORIGIN, b"\x09" * 32)
    code, out = run(bundle(tmp_path, events(9), signer=stranger), capsys)
    assert code == 1 and "no signature by a trusted key" in out and "no checkpoint verified" in out

    fork = tmp_path / "fork"
    fork.mkdir()
    argv = bundle(fork, events(9))
    other = MemoryTree(events(3) + [b"{}"]).root(4)
    note = sign_note(Checkpoint(ORIGIN, 4, other, "2016-11-21T08:00:00.000000Z").text(), KEY)
    (fork / "checkpoints" / "size-4-again.txt").write_text(note, encoding="utf-8")
    code, out = run(argv, capsys)
    assert code == 1 and "sign two different roots for size 4: the log forked" in out


def test_unusable_input_exits_2(tmp_path, capsys):
    argv = bundle(tmp_path, events(2), sizes=(2,))
    (tmp_path / "keys.vkey").write_text("not a key\n", encoding="utf-8")
    assert main(argv) == 2
    assert "cannot verify" in capsys.readouterr().err


def test_runs_as_a_module(tmp_path):
    argv = bundle(tmp_path, events(5), sizes=(5,))
    done = subprocess.run([sys.executable, "-m", "reporting.audit.verify", *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout
