"""What the signer decides, without I/O: may this tree head be signed, and what is the next checkpoint."""

import base64
from dataclasses import dataclass

from platform_core.merkle import EMPTY_ROOT, ProofError, verify_consistency
from platform_core.signed_note import Checkpoint

REASONS = ("schedule", "bulletin", "manual")
# Refusal reasons, the label of campaign_audit_signer_refusals_total. The first three mean the log
# the platform shows now is not an extension of what was signed: deploy/prometheus/alerts.yml pages.
INCONSISTENT, FORK, SHRUNK = "inconsistent", "fork", "shrunk"
NOT_INITIALIZED, OLD_SIZE_MISMATCH = "not_initialized", "old_size_mismatch"
STATE_DAMAGED = "state_damaged"  # the signer's own files disagree: it signs nothing until an operator looks


def not_initialized() -> "SigningRefused":
    return SigningRefused(NOT_INITIALIZED, "the signer has no record of this log yet: an operator runs "
                                           "`python -m audit_signer init --empty` (a new log) or `--adopt NOTE`")


@dataclass(frozen=True)
class SignerState:
    """The last checkpoint this signer signed (or adopted): its id, size and root."""

    origin: str
    checkpoint_id: int  # 0: nothing signed yet (an empty log)
    tree_size: int
    root_hash: bytes

    @classmethod
    def empty(cls, origin: str) -> "SignerState":
        return cls(origin, 0, 0, EMPTY_ROOT)

    def after(self, checkpoint: Checkpoint) -> "SignerState":
        return SignerState(self.origin, checkpoint.id, checkpoint.size, checkpoint.root_hash)


@dataclass(frozen=True)
class SignRequest:
    """A tree head to sign, and the consistency proof from the size the caller believes was signed last."""

    old_size: int
    tree_size: int
    root_hash: bytes
    proof: tuple[bytes, ...]
    reason: str
    # When a witness is configured and its record stands at another size than the signer's (it answered
    # 409 before): the proof from that size, for the witness.
    witness_old_size: int | None = None
    witness_proof: tuple[bytes, ...] = ()

    def for_witness(self) -> tuple[int, tuple[bytes, ...]]:
        return (self.old_size, self.proof) if self.witness_old_size is None else (self.witness_old_size,
                                                                                  self.witness_proof)


class SigningRefused(Exception):
    """The head may not be signed; ``reason`` is one of the refusal reasons above."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


class OldSizeMismatch(SigningRefused):
    """The caller's proof starts from another size than the last signed one (c2sp.org/tlog-witness: 409)."""

    def __init__(self, state: SignerState, old_size: int):
        super().__init__(OLD_SIZE_MISMATCH, f"the proof starts at size {old_size}, the last checkpoint signed "
                                            f"(id {state.checkpoint_id}) has size {state.tree_size}")
        self.state = state


def check_request(state: SignerState, request: SignRequest) -> None:
    """Raise unless ``request`` provably extends the last signed tree (a log MUST NOT sign inconsistent
    checkpoints, c2sp.org/tlog-checkpoint)."""
    if request.tree_size < state.tree_size:
        raise SigningRefused(SHRUNK, f"size {request.tree_size} is smaller than size {state.tree_size} signed in "
                                     f"checkpoint {state.checkpoint_id}: a log never shrinks")
    if request.old_size != state.tree_size:
        raise OldSizeMismatch(state, request.old_size)
    if request.tree_size == state.tree_size and request.root_hash != state.root_hash:
        raise SigningRefused(FORK, f"root {_b64(request.root_hash)} for size {state.tree_size}, which checkpoint "
                                   f"{state.checkpoint_id} signed with root {_b64(state.root_hash)}: a fork")
    try:
        verify_consistency(state.tree_size, request.tree_size, list(request.proof), state.root_hash,
                           request.root_hash)
    except ProofError as exc:
        raise SigningRefused(INCONSISTENT, f"size {request.tree_size} is not provably consistent with checkpoint "
                                           f"{state.checkpoint_id} (size {state.tree_size}): {exc}") from exc


def next_checkpoint(state: SignerState, request: SignRequest, signed_at: str) -> Checkpoint:
    """The checkpoint to sign once ``check_request`` passed: the next id in the signer's sequence."""
    return Checkpoint(state.origin, request.tree_size, request.root_hash, signed_at, state.checkpoint_id + 1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
