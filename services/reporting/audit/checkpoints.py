"""Signing checkpoints: on a schedule when the log grew, and on demand (bulletins).

A checkpoint is signed inside one transaction that locks the log head, stores
the signed note and appends a CheckpointSigned event to the reporting event
store. That event is published and, like every event, appended to the log; the
schedule ignores growth made only of CheckpointSigned events, so signing never
feeds itself.
"""

import base64
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.engine import Connection, Engine

from platform_core.envelope import Actor, utc_timestamp
from platform_core.event_store import AppendResult, EventStore, NewEvent

from platform_core.merkle import ProofError, verify_consistency
from platform_core.signed_note import Checkpoint, SignerKey, sign_note, split_note
from .store import AuditLogStore, LogDamaged, StoredCheckpoint

log = logging.getLogger(__name__)

CHECKPOINT_EVENT = "CheckpointSigned"
SIGNER_ACTOR = Actor(department="reporting", user="audit-log")
REASONS = ("schedule", "bulletin", "manual")


@dataclass
class CheckpointSigner:
    engine: Engine
    events: EventStore  # the reporting service's event store (reporting.events)
    log_store: AuditLogStore
    signer: SignerKey

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def stream_id(self) -> str:
        return f"auditlog-{self.origin}"

    def sign_in(self, conn: Connection, reason: str, actor: Actor = SIGNER_ACTOR) -> tuple[StoredCheckpoint, AppendResult]:
        """Sign the log's current head inside the caller's transaction."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}")
        size, root = self.log_store.head(conn, lock=True)
        self._check_consistent_with_last(conn, size, root)
        signed_at = datetime.now(timezone.utc)
        checkpoint = Checkpoint(self.origin, size, root, utc_timestamp(signed_at))
        note = sign_note(checkpoint.text(), self.signer)
        verifier = self.signer.verifier().encode()
        stored = self.log_store.add_checkpoint(conn, self.origin, size, root, signed_at, verifier, reason, note)
        payload = {"checkpoint_id": stored.id, "origin": self.origin, "tree_size": size,
                   "root_hash": base64.b64encode(root).decode(), "signed_at": checkpoint.time,
                   "verifier_key": verifier, "reason": reason, "note": note}
        version = self.events.stream_version(conn, self.stream_id)
        result = self.events.append_in(conn, self.stream_id, version, [NewEvent(CHECKPOINT_EVENT, payload)], actor)
        return stored, result

    def _check_consistent_with_last(self, conn: Connection, size: int, root: bytes) -> None:
        """Refuse to sign a head that stored nodes cannot prove to extend the last checkpoint
        (c2sp.org/tlog-checkpoint: a log MUST NOT sign inconsistent checkpoints)."""
        if self.log_store.root_at(conn, size) != root:
            raise LogDamaged(f"refusing to sign: the head root of size {size} differs from the stored tree's")
        last = self.log_store.latest_checkpoint(conn)
        if last is None:
            return
        signed = Checkpoint.parse(split_note(last.note)[0])
        try:
            proof = self.log_store.consistency_proof(conn, signed.size, size)
            verify_consistency(signed.size, size, proof, signed.root_hash, root)
        except ProofError as exc:
            raise LogDamaged(f"refusing to sign size {size}: not provably consistent with checkpoint "
                             f"{last.id} (size {signed.size}): {exc}") from exc

    def sign_now(self, reason: str = "manual", actor: Actor = SIGNER_ACTOR) -> StoredCheckpoint:
        with self.engine.begin() as conn:
            stored, result = self.sign_in(conn, reason, actor)
        self.events.count_committed(result)
        log.info("checkpoint signed", extra={"tree_size": stored.tree_size, "reason": reason})
        return stored

    def sign_if_grown(self) -> StoredCheckpoint | None:
        """Sign when events other than CheckpointSigned arrived since the last checkpoint."""
        with self.engine.begin() as conn:
            self.log_store.head(conn, lock=True)
            latest = self.log_store.latest_checkpoint(conn)
            if not self.log_store.grew_since(conn, latest.tree_size if latest else 0, CHECKPOINT_EVENT):
                return None
            stored, result = self.sign_in(conn, "schedule")
        self.events.count_committed(result)
        log.info("scheduled checkpoint signed", extra={"tree_size": stored.tree_size})
        return stored


def run_schedule(signer: CheckpointSigner, interval_seconds: float, stop: threading.Event) -> None:
    """Every ``interval_seconds``: sign if the log grew. Errors are logged; the next tick retries."""
    while not stop.wait(interval_seconds):
        try:
            signer.sign_if_grown()
        except Exception:
            log.exception("scheduled checkpoint failed; retrying at the next tick")


def start_schedule(signer: CheckpointSigner, interval_seconds: float) -> threading.Event:
    """Run the schedule in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_schedule, args=(signer, interval_seconds, stop),
                     name="audit-checkpoints", daemon=True).start()
    return stop
