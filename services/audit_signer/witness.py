"""The witness (``python -m audit_signer witness serve``): a second party, with its own key and its own record,
that cosigns a checkpoint the log's key signed only when it is consistent with the last one it cosigned
(c2sp.org/tlog-witness, c2sp.org/tlog-cosignature). Should the signer's record ever be reset or its key
stolen, a forged history still gets no cosignature, and the verifier requires one wherever a witness is
configured. It shares the signer's decision (``domain.check_request``) and its state directory layout."""

import base64
import binascii
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_core.cosignature import WitnessKey
from platform_core.metrics import AUDIT_WITNESS_COSIGNED, AUDIT_WITNESS_REFUSALS
from platform_core.signed_note import NoteError, VerifierKey, open_checkpoint

from .domain import (
    FORK, INCONSISTENT, NOT_INITIALIZED, OLD_SIZE_MISMATCH, STATE_DAMAGED, OldSizeMismatch, SignerState,
    SigningRefused, SignRequest, check_request, not_initialized,
)
from .signing import ADOPTED, begin_record, current_record
from .state_dir import SignedRecord, SignerDirectory

log = logging.getLogger(__name__)
MAX_PROOF_LINES = 63
COSIGNED = "cosigned"


class BadSubmission(ValueError):
    """The request body is not an add-checkpoint request (400), or its checkpoint is not the log's (403/404)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def parse_submission(body: bytes) -> Submission:
    """``old <size>\\n``, zero or more base64 proof lines, an empty line, then the signed checkpoint."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSubmission(400, "the body is not UTF-8") from exc
    head, separator, note = text.partition("\n\n")
    lines = head.split("\n")
    if not separator or not lines[0].startswith("old "):
        raise BadSubmission(400, "the body must start with 'old <size>', the proof lines and an empty line")
    size = lines[0][4:]
    if not size.isdigit() or (size.startswith("0") and size != "0"):
        raise BadSubmission(400, f"old size {size!r} is not a decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadSubmission(400, f"at most {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
    except binascii.Error as exc:
        raise BadSubmission(400, "a consistency proof line is not base64") from exc
    return Submission(int(size), proof, note)


class WitnessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_WITNESS_", extra="ignore")

    name: str = "campaign.example/witness"
    key_file: Path | None = None  # base64 Ed25519 seed, the witness's own (never the log's)
    state_dir: Path | None = None
    log_key: str | None = None  # the log's verifier key (<origin>+<id>+<key>): what it cosigns
    host: str = "127.0.0.1"
    port: int = Field(default=8106, ge=1, le=65535)

    def witness_key(self) -> WitnessKey:
        if self.key_file is None:
            raise RuntimeError("CAMPAIGN_WITNESS_KEY_FILE is not set: the witness cannot cosign")
        return WitnessKey.from_base64_seed(self.name, self.key_file.read_text())

    def trusted_log(self) -> VerifierKey:
        if not self.log_key:
            raise RuntimeError("CAMPAIGN_WITNESS_LOG_KEY is not set: the witness does not know whose log it watches")
        return VerifierKey.parse(self.log_key)

    def directory(self) -> SignerDirectory:
        if self.state_dir is None:
            raise RuntimeError("CAMPAIGN_WITNESS_STATE_DIR is not set: the witness keeps no record")
        return SignerDirectory(self.state_dir)


class Witness:
    def __init__(self, directory: SignerDirectory, key: WitnessKey, log_key: VerifierKey,
                 now: Callable[[], int] = lambda: int(time.time())):
        self.directory, self.key, self.log_key, self.now = directory, key, log_key, now
        self.origin = log_key.name
        self.verifier_key = key.verifier().encode()
        for reason in (INCONSISTENT, FORK, STATE_DAMAGED, NOT_INITIALIZED, OLD_SIZE_MISMATCH):
            AUDIT_WITNESS_REFUSALS.labels(reason)

    def state(self) -> SignerState | None:
        with self.directory.locked():
            return current_record(self.directory, self.origin)

    def add_checkpoint(self, submission: Submission) -> str:
        """The cosignature line for the submitted checkpoint, or a refusal (logged and counted)."""
        try:
            checkpoint = open_checkpoint(submission.note, [self.log_key])
        except NoteError as exc:
            status = 404 if not submission.note.startswith(self.origin + "\n") else 403
            raise BadSubmission(status, f"not a checkpoint of {self.origin} signed by its key: {exc}") from exc
        if submission.old_size > checkpoint.size:
            raise BadSubmission(400, f"old size {submission.old_size} is larger than the checkpoint's {checkpoint.size}")
        request = SignRequest(submission.old_size, checkpoint.size, checkpoint.root_hash, submission.proof, COSIGNED)
        text = submission.note[:submission.note.rindex("\n\n") + 1]
        try:
            with self.directory.locked():
                state = current_record(self.directory, self.origin)
                if state is None:
                    raise not_initialized()
                if request.old_size != state.tree_size:  # tlog-witness: 409 with the size, before anything else
                    raise OldSizeMismatch(state, request.old_size)
                check_request(state, request)
                timestamp = self.now()
                line = self.key.cosign(text, timestamp)
                self.directory.append_record(SignedRecord(
                    checkpoint.id or 0, checkpoint.size, base64.b64encode(checkpoint.root_hash).decode(),
                    str(timestamp), COSIGNED, self.verifier_key, text + "\n" + line))
                self.directory.write_state(SignerState(self.origin, checkpoint.id or 0, checkpoint.size,
                                                       checkpoint.root_hash))
        except SigningRefused as refusal:
            AUDIT_WITNESS_REFUSALS.labels(refusal.reason).inc()
            log.warning("refused to cosign", extra={"reason": refusal.reason, "detail": refusal.message,
                                                    "tree_size": checkpoint.size, "old_size": submission.old_size})
            raise
        AUDIT_WITNESS_COSIGNED.inc()
        return line

    def init_empty(self) -> SignerState:
        return begin_record(self.directory, SignerState.empty(self.origin))

    def adopt(self, note: str) -> SignerState:
        """Start at a checkpoint the log's key signed (the one the signer adopted or last signed)."""
        checkpoint = open_checkpoint(note, [self.log_key], self.origin)
        state = SignerState(self.origin, checkpoint.id or 0, checkpoint.size, checkpoint.root_hash)
        return begin_record(self.directory, state, SignedRecord(
            state.checkpoint_id, checkpoint.size, base64.b64encode(checkpoint.root_hash).decode(), checkpoint.time,
            ADOPTED, self.verifier_key, note))
