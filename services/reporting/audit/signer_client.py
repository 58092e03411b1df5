"""Reporting's side of the signer's API: where the signer's record stands, the notes it signed, and a
signature for a tree head with its consistency proof. Every note is checked before it is returned: it
must be signed by the key the signer names, for this log, for the size and root asked."""

import base64
from dataclasses import dataclass
from datetime import datetime

import httpx

from platform_core.errors import PlatformError
from platform_core.signed_note import NoteError, VerifierKey, open_checkpoint

TIMEOUT_S = 10.0


class SignerUnavailable(PlatformError):
    """The signer cannot be asked (down, not initialised, misconfigured); nothing was signed."""

    status = 503
    code = "signer_unavailable"


class SignerRefused(PlatformError):
    """The signer refused: the log is not provably an extension of what it signed (or ahead of it)."""

    status = 409
    code = "signer_refused"

    def __init__(self, message: str, reason: str, **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reason": self.reason}


class OldSizeConflict(Exception):
    """Another checkpoint was signed since the caller read the signer's position; read it again."""


class WitnessBehind(Exception):
    """The signer's witness last cosigned another size: send it a proof from ``witness_size`` too."""

    def __init__(self, witness_size: int):
        super().__init__(f"the witness last cosigned size {witness_size}")
        self.witness_size = witness_size


@dataclass(frozen=True)
class SignerPosition:
    checkpoint_id: int  # 0: initialised empty, nothing signed yet
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class SignedNote:
    checkpoint_id: int
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    reason: str
    verifier_key: str
    note: str


class SignerClient:
    def __init__(self, base_url: str, secret: str, origin: str, timeout: float = TIMEOUT_S):
        self.base_url, self.origin, self.timeout = base_url.rstrip("/"), origin, timeout
        self._headers = {"Authorization": f"Bearer {secret}"}

    def position(self) -> SignerPosition:
        body = self._call("GET", "/checkpoints/latest")
        return SignerPosition(body["checkpoint_id"], body["tree_size"], base64.b64decode(body["root_hash"]))

    def signed_after(self, checkpoint_id: int) -> list[SignedNote]:
        """Every note the signer signed (or adopted) with a higher id, oldest first."""
        notes: list[SignedNote] = []
        while True:
            page = self._call("GET", "/checkpoints", params={"after_id": checkpoint_id, "limit": 1000})
            notes += [self._checked(item) for item in page]
            if len(page) < 1000:
                return notes
            checkpoint_id = notes[-1].checkpoint_id

    def sign(self, old_size: int, tree_size: int, root_hash: bytes, proof: list[bytes], reason: str,
             witness: tuple[int, list[bytes]] | None = None) -> SignedNote:
        """``witness``: (size, proof from it) when the signer's witness stands at another size (WitnessBehind)."""
        body = {"old_size": old_size, "tree_size": tree_size, "root_hash": _b64(root_hash),
                "proof": [_b64(p) for p in proof], "reason": reason}
        if witness is not None:
            body.update(witness_old_size=witness[0], witness_proof=[_b64(p) for p in witness[1]])
        signed = self._checked(self._call("POST", "/checkpoints", json=body))
        if (signed.tree_size, signed.root_hash) != (tree_size, root_hash):
            raise SignerUnavailable(f"the signer answered with checkpoint {signed.checkpoint_id} of size "
                                    f"{signed.tree_size}, not the head of size {tree_size} asked for")
        return signed

    def _checked(self, item: dict) -> SignedNote:
        try:
            checkpoint = open_checkpoint(item["note"], [VerifierKey.parse(item["verifier_key"])], self.origin)
        except (NoteError, KeyError) as exc:
            raise SignerUnavailable(f"the signer answered with a note that does not verify: {exc}") from exc
        if (checkpoint.id, checkpoint.size, base64.b64encode(checkpoint.root_hash).decode()) != (
                item["checkpoint_id"], item["tree_size"], item["root_hash"]) or checkpoint.time is None:
            raise SignerUnavailable(f"the signer's note for checkpoint {item['checkpoint_id']} does not say what "
                                    "its fields say")
        return SignedNote(checkpoint.id, checkpoint.size, checkpoint.root_hash, checkpoint.signed_at(),
                          item["reason"], item["verifier_key"], item["note"])

    def _call(self, method: str, path: str, **kwargs):
        try:
            response = httpx.request(method, self.base_url + path, headers=self._headers, timeout=self.timeout,
                                     **kwargs)
        except httpx.HTTPError as exc:
            raise SignerUnavailable(f"the signer at {self.base_url} cannot be reached: {exc}") from exc
        if response.status_code < 300:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:300]}
        message = body.get("message", "")
        if body.get("reason") == "old_size_mismatch":
            raise OldSizeConflict(message)
        if body.get("reason") == "witness_old_size_mismatch" and isinstance(body.get("witness_tree_size"), int):
            raise WitnessBehind(body["witness_tree_size"])
        if response.status_code in (409, 422) and body.get("error") == "signing_refused":
            raise SignerRefused(f"the signer refused to sign: {message}", body.get("reason", "refused"))
        raise SignerUnavailable(f"the signer answered {response.status_code}: {message}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
