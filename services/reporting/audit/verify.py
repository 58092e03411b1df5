"""Offline verifier for inspectors: needs nothing but files.

    python -m reporting.audit.verify --keys audit-keys.vkey --checkpoints audit-export/checkpoints \\
        --events audit-export/events.jsonl [--checkpoints signed-notes.jsonl] [--bulletins audit-export/bulletins]
        [--bulletin DIR ...] [--no-rederive] [--witness-key witness.vkey [--witnessed-from ID]]
        [--proof proof.json ...] [--origin campaign.example/wuhan-2016/audit]

Checks: every checkpoint is signed by a trusted key (C2SP signed note, Ed25519);
checkpoints never disagree (one root per size, one note per id); the checkpoint
ids the signer numbered follow one another without a gap and their sizes never
decrease; the events export (JSON lines of canonical events, in log order) is
canonical, has no event twice, and its RFC 6962 root at every checkpoint's size
equals the signed root, which also proves every checkpoint consistent with every
earlier one; every CheckpointSigned note recorded inside the log is among the
checkpoints given and its root is reproduced too; every published bulletin's
checkpoint is signed, among the checkpoints and reproduced by the same events
(so consistent with the latest), its data file (with the narrative, 文号 and 主送)
has the SHA-256 its BulletinPublished event recorded once a checkpoint covers that
event, and the bulletin's figures are re-derived from the events it covers and
compared byte for byte with its data file; inclusion
and consistency proofs saved from the inspector API verify (RFC 9162) against
the signed roots; with witness keys, every checkpoint (from an id on) also
carries each witness's cosignature. Exit status 0 when everything verifies, 1 with the reasons
otherwise, 2 for unusable input. docs/audit.md lists what is and is not checked.
"""

import argparse
import base64
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from platform_core.cosignature import CosignerKey, cosignatures
from platform_core.envelope import canonical_json
from platform_core.merkle import EMPTY_ROOT, CompactRange, ProofError, leaf_hash, verify_consistency, verify_inclusion
from platform_core.signed_note import Checkpoint, NoteError, VerifierKey, open_checkpoint

CHECKPOINT_EVENT = "CheckpointSigned"
BULLETIN_EVENT = "BulletinPublished"
FILE_ID = re.compile(r"^(\d+)-size-\d+\.txt$")  # the export's file names: 00000007-size-41.txt


class Rederiver(Protocol):
    """A check of derived figures against the log prefix a checkpoint covers."""

    name: str

    def check(self, events: Sequence[bytes], checkpoint: Checkpoint) -> list[str]:
        """Findings (empty when the figures match)."""


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.findings and bool(self.passed)

    def render(self) -> str:
        lines = ([f"ok    {line}" for line in self.passed] + [f"skip  {line}" for line in self.skipped]
                 + [f"FAIL  {line}" for line in self.findings])
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        return "\n".join(lines + [f"{verdict}: {len(self.passed)} check(s) passed, {len(self.findings)} failed"])


@dataclass(frozen=True)
class SignedCheckpoint:
    source: str
    checkpoint: Checkpoint
    note: str = ""
    file_id: int | None = None  # from the export's file name, for notes signed before ids were signed

    @property
    def number(self) -> int | None:
        return self.checkpoint.id if self.checkpoint.id is not None else self.file_id


@dataclass(frozen=True)
class PublishedBulletin:
    """A bulletin folder (``export`` writes bulletins/<date>/, ``cli export-bulletin`` one): the signed
    checkpoint printed on it, and its data file."""

    folder: Path
    note: str
    manifest_size: int | None = None
    figures: bytes | None = None  # figures.json, checked against its BulletinPublished event

    @property
    def name(self) -> str:
        return f"bulletin {self.folder.name}"


@dataclass(frozen=True)
class WitnessPolicy:
    """Witnesses whose cosignature every checkpoint from id ``from_id`` on must carry (c2sp.org/tlog-cosignature)."""

    keys: list[CosignerKey]
    from_id: int = 1

    @classmethod
    def load(cls, text: str, from_id: int = 1) -> "WitnessPolicy":
        keys = [CosignerKey.parse(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not keys:
            raise NoteError("the witness key file holds no witness key")
        return cls(keys, from_id)

    def check(self, source: str, checkpoint: Checkpoint, note: str, report: Report) -> bool:
        """False (with a finding) when a configured witness's cosignature is missing or does not verify."""
        if (checkpoint.id or 0) < self.from_id:
            return True
        try:
            found = cosignatures(note, self.keys)
        except NoteError as exc:
            report.findings.append(f"checkpoint {source}: {exc}")
            return False
        missing = [key.name for key in self.keys if key.name not in found]
        if missing:
            report.findings.append(f"checkpoint {source} carries no cosignature by witness {', '.join(missing)}: the "
                                   "witness never saw it consistent with what it cosigned before")
            return False
        return True


def load_keys(text: str) -> list[VerifierKey]:
    keys = [VerifierKey.parse(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not keys:
        raise NoteError("the key file holds no verifier key")
    return keys


def open_checkpoints(notes: Iterable[tuple[str, str]], keys: list[VerifierKey], origin: str | None,
                     report: Report, witnesses: WitnessPolicy | None = None) -> list[SignedCheckpoint]:
    """Verify each (source, note), and its witnesses' cosignatures when ``witnesses`` are configured; the bad
    ones become findings. The same note from two sources (the export and the signer's notes file) counts once."""
    opened: dict[str, SignedCheckpoint] = {}
    cosigned = 0
    for source, note in notes:
        try:
            checkpoint = open_checkpoint(note, keys, origin)
        except NoteError as exc:
            report.findings.append(f"checkpoint {source}: {exc}")
            continue
        if note in opened:
            continue
        if witnesses is not None:
            if not witnesses.check(source, checkpoint, note, report):
                continue
            cosigned += (checkpoint.id or 0) >= witnesses.from_id
        match = FILE_ID.match(Path(source).name)
        opened[note] = SignedCheckpoint(source, checkpoint, note, int(match.group(1)) if match else None)
        report.passed.append(f"checkpoint {source}: signature valid (size {checkpoint.size}, "
                             f"time {checkpoint.time or '-'})")
    signed = list(opened.values())
    if witnesses is not None and cosigned:
        report.passed.append(f"{cosigned} checkpoint(s) from id {witnesses.from_id} on carry the cosignature of "
                             f"{', '.join(k.name for k in witnesses.keys)}")
    origins = {c.checkpoint.origin for c in signed}
    if len(origins) > 1:
        report.findings.append(f"checkpoints come from several logs: {', '.join(sorted(origins))}")
    by_size: dict[int, SignedCheckpoint] = {}
    for one in sorted(signed, key=lambda c: c.checkpoint.size):
        earlier = by_size.setdefault(one.checkpoint.size, one)
        if earlier.checkpoint.root_hash != one.checkpoint.root_hash:
            report.findings.append(f"checkpoints {earlier.source} and {one.source} sign two different roots "
                                   f"for size {one.checkpoint.size}: the log forked")
    return sorted(signed, key=lambda c: (c.checkpoint.size, c.number or 0))


def check_continuity(checkpoints: Sequence[SignedCheckpoint], report: Report) -> None:
    """The signer numbers checkpoints 1, 2, 3, ... in its notes: none may be missing, none may shrink the log."""
    numbered = sorted((c for c in checkpoints if c.checkpoint.id is not None), key=lambda c: c.checkpoint.id)
    legacy = [c for c in checkpoints if c.checkpoint.id is None]
    if legacy:
        report.skipped.append(f"{len(legacy)} checkpoint(s) signed before checkpoints carried a signed id: "
                              "their numbering is not checked")
    if not numbered:
        return
    by_id: dict[int, SignedCheckpoint] = {}
    for one in numbered:
        other = by_id.setdefault(one.checkpoint.id, one)
        if other.note != one.note:
            report.findings.append(f"checkpoints {other.source} and {one.source} both carry id {one.checkpoint.id} "
                                   "with different notes: the signer never numbers two checkpoints alike")
    first = 1 + max((c.file_id or 0 for c in legacy), default=0)
    ids = sorted(by_id)
    missing = sorted(set(range(first, ids[-1] + 1)) - set(ids))
    if missing:
        report.findings.append(f"checkpoint ids {_ranges(missing)} are missing between {first} and {ids[-1]}: the "
                               "signer numbered every checkpoint it signed, so these were removed")
    previous = None
    for number in ids:
        current = by_id[number]
        if previous is not None and current.checkpoint.size < previous.checkpoint.size:
            report.findings.append(f"checkpoint {number} (size {current.checkpoint.size}) is smaller than checkpoint "
                                   f"{previous.checkpoint.id} (size {previous.checkpoint.size}): a log never shrinks")
        previous = current
    if not missing:
        span = f"ids {first}..{ids[-1]} follow one another" if ids[-1] > first else f"id {first} comes first"
        report.passed.append(f"checkpoint {span} without a gap")


def _ranges(numbers: list[int]) -> str:
    spans, start = [], numbers[0]
    for a, b in zip(numbers, numbers[1:] + [None]):
        if b != a + 1:
            spans.append(str(start) if start == a else f"{start}..{a}")
            start = b
    return ", ".join(spans)


@dataclass
class _Scan:
    """What one pass over the events file yields: the root at every size, the events kept for
    re-derivation, and the checkpoints recorded inside the log."""

    roots: bytearray = field(default_factory=bytearray)  # 32 bytes per size, from size 0
    kept: list[bytes] = field(default_factory=list)
    recorded: list[tuple[int, str]] = field(default_factory=list)  # (line, note) of CheckpointSigned events
    # cutoff date -> (line, figures_sha256) of each BulletinPublished event
    bulletins_published: dict[str, tuple[int, str]] = field(default_factory=dict)
    size: int = 0
    bad_lines: int = 0

    def root(self, size: int) -> bytes:
        return bytes(self.roots[32 * size:32 * size + 32])


def _scan(lines: Iterable[bytes], report: Report, keep: bool) -> _Scan:
    scan, tree, seen = _Scan(), CompactRange(), {}
    scan.roots += EMPTY_ROOT
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\n")
        try:
            event = json.loads(line)
            if canonical_json(event) != line:
                raise ValueError("not in canonical form (sorted keys, no spaces, UTF-8)")
            event_id = str(event["event_id"])
        except (ValueError, KeyError, TypeError) as exc:
            report.findings.append(f"events line {number}: not a canonical event: {exc}")
            scan.bad_lines += 1
            event, event_id = None, f"<line {number}>"
        if event_id in seen:
            report.findings.append(f"events line {number}: event {event_id} is already at line {seen[event_id]}")
        seen.setdefault(event_id, number)
        if isinstance(event, dict) and event.get("type") == CHECKPOINT_EVENT:
            note = (event.get("payload") or {}).get("note")
            if isinstance(note, str):
                scan.recorded.append((number, note))
        if isinstance(event, dict) and event.get("type") == BULLETIN_EVENT:
            payload = event.get("payload") or {}
            if isinstance(payload.get("cutoff_date"), str) and isinstance(payload.get("figures_sha256"), str):
                scan.bulletins_published.setdefault(payload["cutoff_date"], (number, payload["figures_sha256"]))
        tree.append(leaf_hash(line))
        scan.roots += tree.root()
        if keep:
            scan.kept.append(line)
    scan.size = tree.size
    return scan


def _reproduce(scan: _Scan, checkpoints: Sequence[SignedCheckpoint], report: Report, what: str = "checkpoint",
               quiet: bool = False) -> dict[int, Checkpoint]:
    """Each checkpoint's root against the root recomputed from the events; a mismatch is located between the
    last matching size and the failing one. Returns the checkpoints reproduced, by size."""
    last_match, reproduced = 0, {}
    for signed in sorted(checkpoints, key=lambda c: c.checkpoint.size):
        size = signed.checkpoint.size
        if size > scan.size:
            report.findings.append(f"{what} {signed.source} covers {size} events, the export holds only "
                                   f"{scan.size}: events are missing")
            continue
        root = scan.root(size)
        if root != signed.checkpoint.root_hash:
            report.findings.append(
                f"{what} {signed.source} (size {size}): the root recomputed from the events is "
                f"{base64.b64encode(root).decode()}, the signed root is "
                f"{base64.b64encode(signed.checkpoint.root_hash).decode()}: an event in lines "
                f"{last_match + 1}..{size} was altered, removed, added or reordered")
            continue
        if not quiet:
            report.passed.append(f"events 1..{size} reproduce the root signed in {signed.source}")
        last_match = size
        reproduced[size] = signed.checkpoint
    return reproduced


def _rederive(scan: _Scan, reproduced: dict[int, Checkpoint], rederivers: Sequence[Rederiver],
              report: Report) -> None:
    """Each re-derivation once, at the reproduced checkpoint sizes it applies to."""
    for rederiver in rederivers:
        for size in sorted(reproduced):
            if not getattr(rederiver, "applies_to", lambda _: True)(size):
                continue
            findings = rederiver.check(scan.kept[:size], reproduced[size])
            for finding in findings:
                report.findings.append(f"{rederiver.name} at size {size}: {finding}")
            if not findings:
                report.passed.append(f"{rederiver.name}: the figures re-derived from events 1..{size} "
                                     "equal the published data file")


def check_events(lines: Iterable[bytes], checkpoints: list[SignedCheckpoint], report: Report,
                 rederivers: Sequence[Rederiver] = (), keys: Sequence[VerifierKey] = (),
                 bulletins: Sequence[PublishedBulletin] = (), witnesses: WitnessPolicy | None = None) -> int:
    """Recompute the tree from the export; compare its root at every checkpoint's size, at every checkpoint
    recorded inside the log (given the trusted ``keys``) and at every bulletin's checkpoint; then re-derive."""
    scan = _scan(lines, report, keep=bool(rederivers))
    reproduced = _reproduce(scan, checkpoints, report)
    if keys:
        _check_recorded(scan, checkpoints, list(keys), report)
        reproduced.update(_check_bulletins(scan, checkpoints, list(keys), bulletins, report, witnesses))
        _check_bulletin_data(scan, max((c.checkpoint.size for c in checkpoints
                                        if reproduced.get(c.checkpoint.size) == c.checkpoint), default=0),
                             bulletins, report)
    _rederive(scan, reproduced, rederivers, report)
    if scan.size and not scan.bad_lines:
        report.passed.append(f"{scan.size} events are canonical and none is repeated")
    return scan.size


def _origin(checkpoints: Sequence[SignedCheckpoint]) -> str | None:
    return checkpoints[0].checkpoint.origin if checkpoints else None


def _among(signed: SignedCheckpoint, checkpoints: Sequence[SignedCheckpoint]) -> bool:
    return any(c.number == signed.number and c.checkpoint.size == signed.checkpoint.size
               and c.checkpoint.root_hash == signed.checkpoint.root_hash for c in checkpoints)


def _check_recorded(scan: _Scan, checkpoints: Sequence[SignedCheckpoint], keys: list[VerifierKey],
                    report: Report) -> None:
    """Every checkpoint the log itself recorded (CheckpointSigned) must be among the checkpoints given: one
    removed from the export (or the database) after the fact still sits in the log."""
    origin, recorded, foreign = _origin(checkpoints), [], 0
    for line, note in scan.recorded:
        try:
            checkpoint = open_checkpoint(note, keys, origin)
        except NoteError as exc:
            if "does not verify" in str(exc):
                report.findings.append(f"events line {line}: the CheckpointSigned note {exc}")
            else:
                foreign += 1  # another log's checkpoint (a scratch instance on a shared topic) or another key's
            continue
        recorded.append(SignedCheckpoint(f"{checkpoint.id} recorded at events line {line}", checkpoint, note))
    if foreign:
        report.skipped.append(f"{foreign} CheckpointSigned note(s) in the log belong to another log or key: not checked")
    absent = [r for r in recorded if not _among(r, checkpoints)]
    for signed in absent:
        report.findings.append(f"checkpoint {signed.source} (size {signed.checkpoint.size}) is not among the "
                               "checkpoints given: it was removed after it was signed")
    failed = len(report.findings)
    _reproduce(scan, recorded, report, quiet=True)
    if recorded and not absent and len(report.findings) == failed:
        report.passed.append(f"the {len(recorded)} checkpoint(s) recorded in the log are among the checkpoints "
                             "given and the events reproduce their roots")


def _check_bulletins(scan: _Scan, checkpoints: Sequence[SignedCheckpoint], keys: list[VerifierKey],
                     bulletins: Sequence[PublishedBulletin], report: Report,
                     witnesses: WitnessPolicy | None = None) -> dict[int, Checkpoint]:
    """Each bulletin's printed checkpoint: signed, as its manifest says, among the checkpoints, and reproduced
    by the same events (so consistent with the latest)."""
    origin = _origin(checkpoints)
    latest = max((c.checkpoint.size for c in checkpoints), default=0)
    reproduced = {}
    for bulletin in bulletins:
        try:
            checkpoint = open_checkpoint(bulletin.note, keys, origin)
        except NoteError as exc:
            report.findings.append(f"{bulletin.name}: its checkpoint {exc}")
            continue
        if witnesses is not None:
            witnesses.check(f"printed on {bulletin.name}", checkpoint, bulletin.note, report)
        if bulletin.manifest_size is not None and bulletin.manifest_size != checkpoint.size:
            report.findings.append(f"{bulletin.name}: its manifest names size {bulletin.manifest_size}, its signed "
                                   f"checkpoint size {checkpoint.size}")
        signed = SignedCheckpoint(f"printed on {bulletin.name}", checkpoint, bulletin.note)
        if not _among(signed, checkpoints):
            report.findings.append(f"{bulletin.name}: its checkpoint (id {checkpoint.id}, size {checkpoint.size}) is "
                                   "not among the checkpoints given: it was removed after the bulletin was published")
        if checkpoint.size > latest:
            report.findings.append(f"{bulletin.name}: its checkpoint (size {checkpoint.size}) is newer than the latest "
                                   f"checkpoint given (size {latest}): later checkpoints were removed")
        reproduced.update(_reproduce(scan, [signed], report))
    return reproduced


def _check_bulletin_data(scan: _Scan, signed_size: int, bulletins: Sequence[PublishedBulletin],
                         report: Report) -> None:
    """Each bulletin's data file (figures, and from format 2 its 文号, 主送 and narrative, which are written, not
    derived) against the SHA-256 its BulletinPublished event recorded, once a checkpoint reproduced from the
    events (``signed_size``) covers that event."""
    for bulletin in bulletins:
        if bulletin.figures is None:
            continue
        try:
            cutoff = str(json.loads(bulletin.figures)["cutoff_date"])
        except (ValueError, KeyError, TypeError):
            report.findings.append(f"{bulletin.name}: figures.json is not a bulletin's data file")
            continue
        line, recorded = scan.bulletins_published.get(cutoff, (0, ""))
        if not line or line > signed_size:
            report.skipped.append(f"{bulletin.name}: its BulletinPublished event is not under a checkpoint given "
                                  "yet; its data file's SHA-256 was not checked against it")
            continue
        digest = hashlib.sha256(bulletin.figures).hexdigest()
        if digest != recorded:
            report.findings.append(
                f"{bulletin.name}: figures.json has SHA-256 {digest}, its BulletinPublished event (events line {line}, "
                f"signed) recorded {recorded}: the data file (figures, 文号, 主送 or narrative) was altered after "
                "publication")
        else:
            report.passed.append(f"{bulletin.name}: figures.json (with its narrative) is the file BulletinPublished "
                                 f"recorded at events line {line}")


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


def verify_files(keys_file: Path, checkpoints_path: Path | Sequence[Path], events_file: Path | None = None,
                 proof_files: Sequence[Path] = (), origin: str | None = None,
                 rederivers: Sequence[Rederiver] = (), bulletins: Sequence[PublishedBulletin] = (),
                 witnesses: WitnessPolicy | None = None) -> Report:
    report = Report()
    keys = load_keys(keys_file.read_text(encoding="utf-8"))
    paths = [checkpoints_path] if isinstance(checkpoints_path, Path) else list(checkpoints_path)
    checkpoints = open_checkpoints([n for path in paths for n in read_notes(path)], keys, origin, report, witnesses)
    if not checkpoints:
        report.findings.append("no checkpoint verified; nothing can be trusted")
    check_continuity(checkpoints, report)
    if events_file is not None:
        with events_file.open("rb") as lines:
            check_events(lines, checkpoints, report, rederivers, keys, bulletins, witnesses)
    else:
        report.skipped.append("no events file: no root recomputed, no recorded or bulletin checkpoint checked")
    for path in proof_files:
        for number, proof in enumerate(_read_json_objects(path), start=1):
            check_proof(f"{path.name}#{number}", proof, checkpoints, report)
    return report


def read_notes(path: Path) -> list[tuple[str, str]]:
    """A directory of note files (one checkpoint each), one note file, or JSON lines with a "note" (the
    inspector API's checkpoint list, the signer's signed-notes.jsonl)."""
    if path.is_dir():
        return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(path.iterdir()) if p.is_file()]
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith(("{", "[")):
        return [(f"{path.name}#{n}", obj["note"]) for n, obj in enumerate(_read_json_objects(path), start=1)]
    return [(path.name, text)]


def read_bulletins(folders: Sequence[Path]) -> list[PublishedBulletin]:
    found = []
    for folder in folders:
        try:
            note = (folder / "checkpoint.txt").read_text(encoding="utf-8")
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"bulletin folder {folder} needs checkpoint.txt and manifest.json: {exc}") from exc
        figures = (folder / "figures.json").read_bytes() if (folder / "figures.json").is_file() else None
        found.append(PublishedBulletin(folder, note, manifest.get("checkpoint_tree_size"), figures))
    return found


def _read_json_objects(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        return json.loads(text)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def bulletin_folders(args: argparse.Namespace) -> list[Path]:
    """``--bulletin`` folders, plus those under ``--bulletins`` (by default the export's own ``bulletins/``
    beside its ``checkpoints/``)."""
    parent = args.bulletins
    if parent is None and args.checkpoints and args.checkpoints[0].is_dir():
        beside = args.checkpoints[0].parent / "bulletins"
        parent = beside if beside.is_dir() else None
    found = list(args.bulletin)
    if parent is not None:
        found += sorted(p for p in parent.iterdir() if p.is_dir())
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.audit.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=Path, required=True, help="trusted verifier keys, one per line")
    parser.add_argument("--checkpoints", type=Path, action="append", required=True,
                        help="a directory of signed checkpoints, one note file, or JSON lines with 'note' (the "
                             "signer's signed-notes.jsonl); repeatable")
    parser.add_argument("--events", type=Path, help="events export: canonical events, one per line, in log order")
    parser.add_argument("--proof", type=Path, action="append", default=[],
                        help="an inclusion or consistency proof saved from the inspector API (repeatable)")
    parser.add_argument("--origin", help="the log's origin line every checkpoint must carry")
    parser.add_argument("--bulletin", type=Path, action="append", default=[],
                        help="a published bulletin's folder (figures.json, manifest.json, checkpoint.txt) (repeatable)")
    parser.add_argument("--bulletins", type=Path, help="a folder of bulletin folders (default: the export's "
                                                       "bulletins/ beside its checkpoints/)")
    parser.add_argument("--no-rederive", action="store_true",
                        help="check the bulletins' checkpoints but do not re-derive their figures (faster)")
    parser.add_argument("--witness-key", type=Path,
                        help="witness keys (type 0x04), one per line: every checkpoint must carry their cosignature")
    parser.add_argument("--witnessed-from", type=int, default=1,
                        help="the first checkpoint id the witnesses cosigned (earlier ones need not carry it)")
    args = parser.parse_args(argv)
    try:
        witnesses = (WitnessPolicy.load(args.witness_key.read_text(encoding="utf-8"), args.witnessed_from)
                     if args.witness_key else None)
        folders = bulletin_folders(args)
        bulletins = read_bulletins(folders)
        rederivers = []
        if folders and not args.no_rederive:
            from reporting.handlers.rederive_bulletin import BulletinRederiver
            rederivers = [BulletinRederiver.from_directory(folder) for folder in folders]
        report = verify_files(args.keys, args.checkpoints, args.events, args.proof, args.origin, rederivers, bulletins,
                              witnesses)
        if folders and args.no_rederive:
            report.skipped.append(f"{len(folders)} bulletin(s): figures not re-derived (--no-rederive)")
    except (OSError, NoteError, ValueError, KeyError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
