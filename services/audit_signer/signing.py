"""Signing, initialising and listing, over the state directory (the signer's use cases)."""

import base64
import logging
from collections.abc import Callable
from datetime import datetime, timezone

from platform_core.envelope import utc_timestamp
from platform_core.metrics import AUDIT_SIGNER_CHECKPOINTS, AUDIT_SIGNER_REFUSALS, AUDIT_SIGNER_TREE_SIZE
from platform_core.signed_note import SignerKey, open_checkpoint, sign_note

from .domain import (
    FORK, INCONSISTENT, NOT_INITIALIZED, OLD_SIZE_MISMATCH, SHRUNK, STATE_DAMAGED, SignerState, SigningRefused,
    SignRequest, check_request, next_checkpoint, not_initialized,
)
from .state_dir import SignedRecord, SignerDirectory, StateDamaged
from .witness_client import WITNESS_OLD_SIZE, WITNESS_REFUSED, WITNESS_UNAVAILABLE, WitnessClient

log = logging.getLogger(__name__)
ADOPTED = "adopted"


class AlreadyInitialized(RuntimeError):
    pass


def utc_now() -> str:
    return utc_timestamp(datetime.now(timezone.utc))


class LogSigner:
    def __init__(self, directory: SignerDirectory, key: SignerKey, now: Callable[[], str] = utc_now,
                 witness: WitnessClient | None = None):
        self.directory, self.key, self.now, self.witness = directory, key, now, witness
        self.origin = key.name
        self.verifier_key = key.verifier().encode()
        for reason in (INCONSISTENT, FORK, SHRUNK, STATE_DAMAGED, NOT_INITIALIZED, OLD_SIZE_MISMATCH, WITNESS_REFUSED,
                       WITNESS_UNAVAILABLE, WITNESS_OLD_SIZE):
            AUDIT_SIGNER_REFUSALS.labels(reason)  # present at 0, so an alert sees the first increase

    def state(self) -> SignerState | None:
        with self.directory.locked():
            return self._current()

    def _current(self) -> SignerState | None:
        return current_record(self.directory, self.origin)

    def sign(self, request: SignRequest) -> SignedRecord:
        """Sign the head when it provably extends the last signed one; otherwise refuse, log and count."""
        try:
            with self.directory.locked():
                state = self._current()
                if state is None:
                    raise not_initialized()
                check_request(state, request)
                checkpoint = next_checkpoint(state, request, self.now())
                note = sign_note(checkpoint.text(), self.key)
                if self.witness is not None:  # a note leaves the signer cosigned, or not at all
                    note += self.witness.cosign(*request.for_witness(), note)
                record = SignedRecord(checkpoint.id, checkpoint.size, base64.b64encode(checkpoint.root_hash).decode(),
                                      checkpoint.time, request.reason, self.verifier_key, note)
                self.directory.append_record(record)  # first: the note is kept even if the next line fails
                self.directory.write_state(state.after(checkpoint))
        except SigningRefused as refusal:
            self._count(refusal, tree_size=request.tree_size, old_size=request.old_size)
            raise
        AUDIT_SIGNER_CHECKPOINTS.labels(request.reason).inc()
        AUDIT_SIGNER_TREE_SIZE.labels(self.origin).set(record.tree_size)
        log.info("checkpoint signed", extra={"checkpoint_id": record.checkpoint_id, "tree_size": record.tree_size,
                                             "reason": request.reason})
        return record

    def latest(self) -> SignerState:
        """The record a caller is about to sign from: asked for before every signing, so a record that is
        missing or damaged is refused (and counted) here already."""
        try:
            state = self.state()
            if state is None:
                raise not_initialized()
        except SigningRefused as refusal:
            self._count(refusal)
            raise
        return state

    def _count(self, refusal: SigningRefused, **context) -> None:
        AUDIT_SIGNER_REFUSALS.labels(refusal.reason).inc()
        log.warning("refused to sign", extra={"reason": refusal.reason, "detail": refusal.message, **context})

    def records(self, after_id: int = 0, limit: int = 1000) -> list[SignedRecord]:
        return self.directory.records(after_id, limit)

    def init_empty(self) -> SignerState:
        """Start the record at the empty tree: for a new log only (the first head signed after this is
        vouched for by nothing but the operator's word that the log was new)."""
        return begin_record(self.directory, SignerState.empty(self.origin))

    def adopt(self, note: str, checkpoint_id: int | None = None) -> SignerState:
        """Start the record at a checkpoint this key signed (e.g. the last one published on a bulletin)."""
        checkpoint = open_checkpoint(note, [self.key.verifier()], self.origin)  # NoteError unless ours
        if checkpoint.id is not None and checkpoint_id is not None and checkpoint.id != checkpoint_id:
            raise ValueError(f"the note is checkpoint {checkpoint.id}, not {checkpoint_id}")
        number = checkpoint.id or checkpoint_id
        if not number:
            raise ValueError("the note carries no id line: give the checkpoint's id (its number in the export)")
        state = SignerState(self.origin, number, checkpoint.size, checkpoint.root_hash)
        return begin_record(self.directory, state, SignedRecord(
            number, checkpoint.size, base64.b64encode(checkpoint.root_hash).decode(), checkpoint.time, ADOPTED,
            self.verifier_key, note))


def current_record(directory: SignerDirectory, origin: str) -> SignerState | None:
    """The record (call with the directory locked); damaged files are a refusal to sign anything."""
    try:
        return directory.current(origin)
    except StateDamaged as exc:
        raise SigningRefused(STATE_DAMAGED, f"the record in {directory.path} is damaged: {exc}") from exc


def begin_record(directory: SignerDirectory, state: SignerState, adopted: SignedRecord | None = None) -> SignerState:
    """Write the first record of a state directory, once: a record is never replaced."""
    with directory.locked():
        current = directory.current(state.origin)
        if current is not None:
            raise AlreadyInitialized(f"the record already holds checkpoint {current.checkpoint_id} (size "
                                     f"{current.tree_size}) of {state.origin}; it is never replaced")
        if adopted is not None:
            directory.append_record(adopted)
        directory.write_state(state)
    return state
