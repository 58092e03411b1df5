"""Offline verifier for inspectors: needs nothing but files.

    python -m reporting.audit.verify --keys audit-keys.vkey --checkpoints checkpoints/ \\
        --events events.jsonl [--proof proof.json ...] [--origin campaign.example/wuhan-2016/audit]

Checks: every checkpoint is signed by a trusted key (C2SP signed note, Ed25519);
checkpoints never disagree (one root per size); the events export (JSON lines
of canonical events, in log order) is canonical, has no event twice, and its
RFC 6962 root at every checkpoint's size equals the signed root, which also
proves every checkpoint consistent with every earlier one; inclusion and
consistency proofs saved from the inspector API verify (RFC 9162) against the
signed roots. Exit status 0 when everything verifies, 1 with the reasons
otherwise, 2 for unusable input.

Further checks plug in as ``Rederiver``s (e.g. re-deriving a bulletin's figures
from the log prefix its checkpoint covers, once bulletins exist).
"""

import argparse
import base64
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from platform_core.envelope import canonical_json

from platform_core.merkle import EMPTY_ROOT, CompactRange, ProofError, leaf_hash, verify_consistency, verify_inclusion
from platform_core.signed_note import Checkpoint, NoteError, VerifierKey, open_checkpoint


class Rederiver(Protocol):
    """A check of derived figures against the log prefix a checkpoint covers."""

    name: str

    def check(self, events: Sequence[bytes], checkpoint: Checkpoint) -> list[str]:
        """Findings (empty when the figures match)."""


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and bool(self.passed)

    def render(self) -> str:
        lines = [f"ok    {line}" for line in self.passed] + [f"FAIL  {line}" for line in self.findings]
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        return "\n".join(lines + [f"{verdict}: {len(self.passed)} check(s) passed, {len(self.findings)} failed"])


@dataclass(frozen=True)
class SignedCheckpoint:
    source: str
    checkpoint: Checkpoint


def load_keys(text: str) -> list[VerifierKey]:
    keys = [VerifierKey.parse(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not keys:
        raise NoteError("the key file holds no verifier key")
    return keys


def open_checkpoints(notes: Iterable[tuple[str, str]], keys: list[VerifierKey], origin: str | None,
                     report: Report) -> list[SignedCheckpoint]:
    """Verify each (source, note); the bad ones become findings."""
    opened = []
    for source, note in notes:
        try:
            checkpoint = open_checkpoint(note, keys, origin)
        except NoteError as exc:
            report.findings.append(f"checkpoint {source}: {exc}")
            continue
        opened.append(SignedCheckpoint(source, checkpoint))
        report.passed.append(f"checkpoint {source}: signature valid (size {checkpoint.size}, "
                             f"time {checkpoint.time or '-'})")
    origins = {c.checkpoint.origin for c in opened}
    if len(origins) > 1:
        report.findings.append(f"checkpoints come from several logs: {', '.join(sorted(origins))}")
    by_size: dict[int, SignedCheckpoint] = {}
    for signed in sorted(opened, key=lambda c: c.checkpoint.size):
        earlier = by_size.setdefault(signed.checkpoint.size, signed)
        if earlier.checkpoint.root_hash != signed.checkpoint.root_hash:
            report.findings.append(f"checkpoints {earlier.source} and {signed.source} sign two different roots "
                                   f"for size {signed.checkpoint.size}: the log forked")
    return sorted(opened, key=lambda c: c.checkpoint.size)


def check_events(lines: Iterable[bytes], checkpoints: list[SignedCheckpoint], report: Report,
                 rederivers: Sequence[Rederiver] = ()) -> int:
    """Recompute the tree from the export; compare its root at every checkpoint size."""
    pending = list(checkpoints)
    tree = CompactRange()
    seen: dict[str, int] = {}
    kept: list[bytes] = []
    last_match = 0
    bad_lines = 0

    def settle(size: int, root: bytes) -> None:
        nonlocal last_match
        while pending and pending[0].checkpoint.size == size:
            signed = pending.pop(0)
            if signed.checkpoint.root_hash == root:
                report.passed.append(f"events 1..{size} reproduce the root signed in {signed.source}")
                last_match = size
                for rederiver in rederivers:
                    findings = rederiver.check(kept[:size], signed.checkpoint)
                    for finding in findings:
                        report.findings.append(f"{rederiver.name} at size {size}: {finding}")
                    if not findings and getattr(rederiver, "applies_to", lambda _: False)(size):
                        report.passed.append(f"{rederiver.name}: the figures re-derived from events 1..{size} "
                                             "equal the published data file")
            else:
                report.findings.append(
                    f"checkpoint {signed.source} (size {size}): the root recomputed from the events is "
                    f"{base64.b64encode(root).decode()}, the signed root is "
                    f"{base64.b64encode(signed.checkpoint.root_hash).decode()}: an event in lines "
                    f"{last_match + 1}..{size} was altered, removed, added or reordered")

    settle(0, EMPTY_ROOT)
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\n")
        try:
            event = json.loads(line)
            if canonical_json(event) != line:
                raise ValueError("not in canonical form (sorted keys, no spaces, UTF-8)")
            event_id = str(event["event_id"])
        except (ValueError, KeyError, TypeError) as exc:
            report.findings.append(f"events line {number}: not a canonical event: {exc}")
            bad_lines += 1
            event_id = f"<line {number}>"
        if event_id in seen:
            report.findings.append(f"events line {number}: event {event_id} is already at line {seen[event_id]}")
        seen.setdefault(event_id, number)
        tree.append(leaf_hash(line))
        if rederivers:
            kept.append(line)
        settle(tree.size, tree.root())
    for signed in pending:
        report.findings.append(f"checkpoint {signed.source} covers {signed.checkpoint.size} events, the export "
                               f"holds only {tree.size}: events are missing")
    if tree.size and not bad_lines:
        report.passed.append(f"{tree.size} events are canonical and none is repeated")
    return tree.size


def check_proof(source: str, proof: dict, checkpoints: list[SignedCheckpoint], report: Report) -> None:
    """An inclusion or consistency proof as the inspector API returns it, against signed roots."""
    roots = {c.checkpoint.size: c.checkpoint.root_hash for c in checkpoints}
    try:
        hashes = [base64.b64decode(h, validate=True) for h in proof["proof"]]
        if proof.get("kind") == "inclusion":
            size, index = int(proof["tree_size"]), int(proof["leaf_index"])
            if size not in roots:
                raise ProofError(f"no verified checkpoint of size {size} to check it against")
            event = proof["event"].encode("utf-8")
            verify_inclusion(index, size, leaf_hash(event), hashes, roots[size])
            report.passed.append(f"proof {source}: event {json.loads(event)['event_id']} is leaf {index} "
                                 f"of the signed tree of size {size}")
        elif proof.get("kind") == "consistency":
            first, second = int(proof["first"]), int(proof["second"])
            missing = [s for s in (first, second) if s not in roots and s != 0]
            if missing:
                raise ProofError(f"no verified checkpoint of size {missing[0]} to check it against")
            verify_consistency(first, second, hashes, roots.get(first, EMPTY_ROOT), roots[second])
            report.passed.append(f"proof {source}: the signed tree of size {first} is a prefix of size {second}")
        else:
            raise ProofError("'kind' must be 'inclusion' or 'consistency'")
    except (ProofError, KeyError, TypeError, ValueError) as exc:
        report.findings.append(f"proof {source}: {exc}")


def verify_files(keys_file: Path, checkpoints_path: Path, events_file: Path | None = None,
                 proof_files: Sequence[Path] = (), origin: str | None = None,
                 rederivers: Sequence[Rederiver] = ()) -> Report:
    report = Report()
    keys = load_keys(keys_file.read_text(encoding="utf-8"))
    checkpoints = open_checkpoints(read_notes(checkpoints_path), keys, origin, report)
    if not checkpoints:
        report.findings.append("no checkpoint verified; nothing can be trusted")
    if events_file is not None:
        with events_file.open("rb") as lines:
            check_events(lines, checkpoints, report, rederivers)
    for path in proof_files:
        for number, proof in enumerate(_read_json_objects(path), start=1):
            check_proof(f"{path.name}#{number}", proof, checkpoints, report)
    return report


def read_notes(path: Path) -> list[tuple[str, str]]:
    """A directory of note files (one checkpoint each), one note file, or JSON lines with a "note"."""
    if path.is_dir():
        return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(path.iterdir()) if p.is_file()]
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return [(f"{path.name}#{n}", obj["note"]) for n, obj in enumerate(_read_json_objects(path), start=1)]
    return [(path.name, text)]


def _read_json_objects(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        return json.loads(text)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.audit.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=Path, required=True, help="trusted verifier keys, one per line")
    parser.add_argument("--checkpoints", type=Path, required=True,
                        help="a directory of signed checkpoints, one note file, or JSON lines with 'note'")
    parser.add_argument("--events", type=Path, help="events export: canonical events, one per line, in log order")
    parser.add_argument("--proof", type=Path, action="append", default=[],
                        help="an inclusion or consistency proof saved from the inspector API (repeatable)")
    parser.add_argument("--origin", help="the log's origin line every checkpoint must carry")
    parser.add_argument("--bulletin", type=Path, action="append", default=[],
                        help="a published bulletin's folder (figures.json, manifest.json): re-derive its figures "
                             "from the events its checkpoint covers (repeatable)")
    args = parser.parse_args(argv)
    try:
        rederivers = []
        if args.bulletin:
            from reporting.handlers.rederive_bulletin import BulletinRederiver
            rederivers = [BulletinRederiver.from_directory(folder) for folder in args.bulletin]
        report = verify_files(args.keys, args.checkpoints, args.events, args.proof, args.origin, rederivers)
    except (OSError, NoteError, ValueError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
