"""The signer's state directory: its record of the last signed checkpoint, and every note it signed.

    state.json            the last checkpoint signed: replaced atomically (temp file, fsync, rename,
                          fsync of the directory), so a crash leaves the old or the new record, never half
    signed-notes.jsonl    one JSON line per checkpoint signed or adopted, appended and fsync'd before
                          state.json changes; inspectors compare it with the published checkpoints
    .lock                 flock'd for the length of one signing: one signing at a time, across processes

A crash after a note was appended and before state.json was replaced leaves the note one ahead of
the state: ``SignerDirectory.current`` rolls the state forward to it (the note may have left the
process, so the signer must stay consistent with it).
"""

import base64
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from .domain import SignerState

STATE_FILE, NOTES_FILE, LOCK_FILE = "state.json", "signed-notes.jsonl", ".lock"
TAIL_BYTES = 64 * 1024  # a note is < 4 KB: the last line is within this many bytes of the end


class StateDamaged(RuntimeError):
    """The state file and the notes file disagree in a way no crash explains; an operator must look."""


@dataclass(frozen=True)
class SignedRecord:
    """One signed (or adopted) checkpoint as the notes file keeps it."""

    checkpoint_id: int
    tree_size: int
    root_hash: str  # base64
    signed_at: str | None
    reason: str
    verifier_key: str
    note: str

    def line(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> "SignedRecord":
        return cls(**json.loads(line))


class SignerDirectory:
    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock (blocking): the read-check-sign-write of one signing is atomic."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def current(self, origin: str) -> SignerState | None:
        """The recorded state (None before ``init``), rolled forward to the last note when a crash left it
        one behind. Call with the lock held."""
        state = self._read_state()
        last = self.last_record()
        if state is None:
            if last is not None:
                raise StateDamaged(f"{self.path / NOTES_FILE} holds notes but {STATE_FILE} is missing")
            return None
        if state.origin != origin:
            raise StateDamaged(f"{self.path} records the log {state.origin!r}, this signer signs {origin!r}")
        if last is not None and last.checkpoint_id == state.checkpoint_id + 1:
            state = SignerState(origin, last.checkpoint_id, last.tree_size, base64.b64decode(last.root_hash))
            self.write_state(state)
        elif (last.checkpoint_id if last else 0) != state.checkpoint_id:
            raise StateDamaged(f"{STATE_FILE} records checkpoint {state.checkpoint_id}, the last line of "
                               f"{NOTES_FILE} is checkpoint {last.checkpoint_id if last else 'none'}")
        return state

    def _read_state(self) -> SignerState | None:
        try:
            raw = json.loads((self.path / STATE_FILE).read_bytes())
        except FileNotFoundError:
            return None
        return SignerState(raw["origin"], raw["checkpoint_id"], raw["tree_size"], base64.b64decode(raw["root_hash"]))

    def write_state(self, state: SignerState) -> None:
        data = json.dumps({"origin": state.origin, "checkpoint_id": state.checkpoint_id,
                           "tree_size": state.tree_size,
                           "root_hash": base64.b64encode(state.root_hash).decode()}, sort_keys=True).encode()
        temporary = self.path / f".{STATE_FILE}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path / STATE_FILE)
        self._fsync_directory()

    def append_record(self, record: SignedRecord) -> None:
        path = self.path / NOTES_FILE
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, record.line())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            self._fsync_directory()

    def last_record(self) -> SignedRecord | None:
        try:
            with (self.path / NOTES_FILE).open("rb") as notes:
                notes.seek(0, os.SEEK_END)
                notes.seek(max(0, notes.tell() - TAIL_BYTES))
                lines = notes.read().splitlines()
        except FileNotFoundError:
            return None
        return SignedRecord.parse(lines[-1]) if lines else None

    def records(self, after_id: int = 0, limit: int = 1000) -> list[SignedRecord]:
        """Signed notes with an id above ``after_id``, oldest first."""
        found = []
        try:
            with (self.path / NOTES_FILE).open("rb") as notes:
                for line in notes:
                    record = SignedRecord.parse(line)
                    if record.checkpoint_id > after_id:
                        found.append(record)
                        if len(found) >= limit:
                            break
        except FileNotFoundError:
            pass
        return found

    def _fsync_directory(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
