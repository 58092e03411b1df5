"""The signer's side of the witness protocol (c2sp.org/tlog-witness): submit a freshly signed checkpoint with
the consistency proof from the size the witness last cosigned, and get its cosignature line back, checked
with the witness key the signer trusts."""

import base64
from dataclasses import dataclass

import httpx

from platform_core.cosignature import CosignerKey, cosignatures
from platform_core.signed_note import NoteError

from .domain import SigningRefused

TIMEOUT_S = 10.0
WITNESS_OLD_SIZE, WITNESS_REFUSED, WITNESS_UNAVAILABLE = "witness_old_size_mismatch", "witness_refused", "witness_unavailable"


class WitnessOldSize(SigningRefused):
    """The witness last cosigned another size: the caller must send a proof from ``witness_size``."""

    def __init__(self, witness_size: int):
        super().__init__(WITNESS_OLD_SIZE, f"the witness last cosigned size {witness_size}: send a consistency proof "
                                           "from that size (witness_old_size, witness_proof)")
        self.witness_size = witness_size


@dataclass(frozen=True)
class WitnessClient:
    url: str
    key: CosignerKey

    def cosign(self, old_size: int, proof: list[bytes] | tuple[bytes, ...], note: str) -> str:
        """The witness's cosignature line for ``note``; refusals as SigningRefused."""
        body = f"old {old_size}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + note
        try:
            response = httpx.post(self.url.rstrip("/") + "/add-checkpoint", content=body.encode("utf-8"),
                                  timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise SigningRefused(WITNESS_UNAVAILABLE, f"the witness at {self.url} cannot be reached: {exc}") from exc
        if response.status_code == 409 and response.headers.get("content-type", "").startswith("text/x.tlog.size"):
            raise WitnessOldSize(int(response.text.strip()))
        if response.status_code != 200:
            reason = WITNESS_UNAVAILABLE if response.status_code >= 500 else WITNESS_REFUSED
            raise SigningRefused(reason, f"the witness answered {response.status_code}: {response.text.strip()[:300]}")
        lines = [line + "\n" for line in response.text.splitlines() if line]
        try:
            if self.key.name not in cosignatures(note + "".join(lines), [self.key]):
                raise NoteError(f"no cosignature by {self.key.name} in the answer")
        except NoteError as exc:
            raise SigningRefused(WITNESS_REFUSED, f"the witness's answer does not verify: {exc}") from exc
        return "".join(line for line in lines if line.startswith(f"\u2014 {self.key.name} "))
