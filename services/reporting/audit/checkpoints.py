"""Checkpoints: the signer process signs (services/audit_signer); reporting stores what it signed.

Signing happens inside one transaction that locks the log head: reporting first stores any note the
signer signed that this database lacks (a transaction that failed after the signer signed), then sends
the head with a consistency proof from the size the signer last signed, and stores the returned note
with a CheckpointSigned event in the reporting event store. The signer checks the proof against its own
record, never against this database, so rewriting signed history here cannot get a new signature.
CheckpointSigned is published and appended to the log like every event; the schedule ignores growth
made only of CheckpointSigned events, so signing never feeds itself.
"""

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from platform_core.envelope import Actor, utc_timestamp
from platform_core.errors import PlatformError
from platform_core.event_store import AppendResult, EventStore
from platform_core.events import NewEvent

from .signer_client import (
    OldSizeConflict, SignedNote, SignerClient, SignerPosition, SignerRefused, SignerUnavailable, WitnessBehind,
)
from .store import AuditLogStore, LogDamaged, StoredCheckpoint

log = logging.getLogger(__name__)

CHECKPOINT_EVENT = "CheckpointSigned"
SIGNER_ACTOR = Actor(department="reporting", user="audit-log")
REASONS = ("schedule", "bulletin", "manual")
ATTEMPTS = 3  # a concurrent signing (another process on another connection) makes the first try stale


class SignerBehind(PlatformError):
    """This database holds checkpoints the signer does not remember: its record was lost or replaced."""

    status = 409
    code = "signer_behind"


@dataclass
class CheckpointSigner:
    engine: Engine
    events: EventStore  # the reporting service's event store (reporting.events)
    log_store: AuditLogStore
    signer: SignerClient
    origin: str

    @property
    def stream_id(self) -> str:
        return f"auditlog-{self.origin}"

    def sign_in(self, conn: Connection, reason: str, actor: Actor = SIGNER_ACTOR
                ) -> tuple[StoredCheckpoint, list[AppendResult]]:
        """Have the log's current head signed and store it, inside the caller's transaction."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}")
        size, root = self.log_store.head(conn, lock=True)
        if self.log_store.root_at(conn, size) != root:
            raise LogDamaged(f"refusing to sign: the head root of size {size} differs from the stored tree's")
        results: list[AppendResult] = []
        witness = None
        for attempt in range(ATTEMPTS):
            position, recovered = self.catch_up(conn)
            results += recovered
            proof = self._proof_from(conn, position, size)
            try:
                signed = self.signer.sign(position.tree_size, size, root, proof, reason, witness)
                break
            except OldSizeConflict:
                if attempt == ATTEMPTS - 1:
                    raise
            except WitnessBehind as behind:  # the witness's record is elsewhere: prove the head to it from there
                if attempt == ATTEMPTS - 1:
                    raise SignerUnavailable(f"the signer's witness keeps answering another size ({behind})")
                if behind.witness_size > size:
                    raise SignerRefused(f"the signer's witness cosigned size {behind.witness_size}, the log holds only "
                                        f"{size} events: events were removed", "shrunk")
                witness = (behind.witness_size, self.log_store.consistency_proof(conn, behind.witness_size, size))
        stored, result = self._store(conn, signed, actor)
        return stored, results + [result]

    def catch_up(self, conn: Connection) -> tuple[SignerPosition, list[AppendResult]]:
        """Store the notes the signer signed that this database lacks; the signer's position."""
        position = self.signer.position()
        latest = self.log_store.latest_checkpoint(conn)
        known = latest.id if latest else 0
        if position.checkpoint_id < known:
            raise SignerBehind(f"the signer's record ends at checkpoint {position.checkpoint_id}, this database holds "
                               f"checkpoint {known}: the signer's state was lost or replaced; an operator adopts "
                               f"checkpoint {known} (python -m audit_signer init --adopt)", field="checkpoint")
        results = []
        if position.checkpoint_id > known:
            for note in self.signer.signed_after(known):
                log.warning("storing a checkpoint the signer signed and this database lacked",
                            extra={"checkpoint_id": note.checkpoint_id, "tree_size": note.tree_size})
                results.append(self._store(conn, note, SIGNER_ACTOR)[1])
        return position, results

    def _proof_from(self, conn: Connection, position: SignerPosition, size: int) -> list[bytes]:
        if position.tree_size > size:
            raise SignerRefused(f"the signer signed size {position.tree_size} (checkpoint {position.checkpoint_id}), "
                                f"the log holds only {size} events: events were removed", "shrunk")
        return self.log_store.consistency_proof(conn, position.tree_size, size)

    def _store(self, conn: Connection, signed: SignedNote, actor: Actor) -> tuple[StoredCheckpoint, AppendResult]:
        stored = self.log_store.add_checkpoint(conn, signed.checkpoint_id, self.origin, signed.tree_size,
                                               signed.root_hash, signed.signed_at, signed.verifier_key,
                                               signed.reason, signed.note)
        payload = {"checkpoint_id": stored.id, "origin": self.origin, "tree_size": stored.tree_size,
                   "root_hash": base64.b64encode(stored.root_hash).decode(),
                   "signed_at": utc_timestamp(stored.signed_at), "verifier_key": stored.verifier_key,
                   "reason": stored.reason, "note": stored.note}
        version = self.events.stream_version(conn, self.stream_id)
        result = self.events.append_in(conn, self.stream_id, version, [NewEvent(CHECKPOINT_EVENT, payload)], actor)
        return stored, result

    def _commit(self, results: list[AppendResult]) -> None:
        for result in results:
            self.events.count_committed(result)

    def sign_now(self, reason: str = "manual", actor: Actor = SIGNER_ACTOR) -> StoredCheckpoint:
        with self.engine.begin() as conn:
            stored, results = self.sign_in(conn, reason, actor)
        self._commit(results)
        log.info("checkpoint signed", extra={"tree_size": stored.tree_size, "reason": reason})
        return stored

    def sign_if_grown(self) -> StoredCheckpoint | None:
        """Store what the signer signed and this database lacks; then sign when events other than
        CheckpointSigned arrived since the last checkpoint."""
        with self.engine.begin() as conn:
            self.log_store.head(conn, lock=True)
            _, results = self.catch_up(conn)
            latest = self.log_store.latest_checkpoint(conn)
            stored = None
            if self.log_store.grew_since(conn, latest.tree_size if latest else 0, CHECKPOINT_EVENT):
                stored, signed = self.sign_in(conn, "schedule")
                results += signed
        self._commit(results)
        if stored is not None:
            log.info("scheduled checkpoint signed", extra={"tree_size": stored.tree_size})
        return stored


def run_schedule(signer: Callable[[], CheckpointSigner], interval_seconds: float, stop: threading.Event) -> None:
    """Every ``interval_seconds``: sign if the log grew. Errors (the signer down or not configured yet) are
    logged; the next tick retries. The audit log's appends never wait on the signer."""
    while not stop.wait(interval_seconds):
        try:
            signer().sign_if_grown()
        except Exception:
            log.exception("scheduled checkpoint failed; retrying at the next tick")


def start_schedule(signer: Callable[[], CheckpointSigner], interval_seconds: float) -> threading.Event:
    """Run the schedule in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_schedule, args=(signer, interval_seconds, stop),
                     name="audit-checkpoints", daemon=True).start()
    return stop
