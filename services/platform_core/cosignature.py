"""C2SP tlog-cosignature/v1 with Ed25519 (pure): a witness's timestamped statement that, at that time,
the checkpoint was the largest consistent tree head it had seen of the log.

    key ID     = SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]
    signature  = u64 timestamp (big-endian, POSIX seconds) || Ed25519 signature (64 bytes) of
                 "cosignature/v1\\ntime <timestamp>\\n" || the checkpoint's note text
    line       = — <name> base64(key ID || signature)
    vkey       = <name>+<key ID as 8 hex>+<base64(0x04 || public key)>
"""

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .signed_note import EM_DASH, NoteError, SignerKey, VerifierKey, parse_vkey, split_note

COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_V1]) + public_key).digest()[:4]


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"{HEADER}time {timestamp}\n".encode() + text.encode("utf-8")


@dataclass(frozen=True)
class CosignerKey(VerifierKey):
    """A witness's public key, as inspectors and the signer trust it."""

    @classmethod
    def parse(cls, text: str) -> "CosignerKey":
        return cls(*parse_vkey(text, COSIGNATURE_V1, cosigner_key_id, "witness key"))

    def encode(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([COSIGNATURE_V1]) + self.public_key).decode()}"

    def verify_cosignature(self, text: str, signature: bytes) -> int | None:
        """The cosignature's timestamp when it verifies over ``text``, else None."""
        if len(signature) != 8 + 64:
            return None
        (timestamp,) = struct.unpack(">Q", signature[:8])
        return timestamp if self.verify(cosigned_message(text, timestamp), signature[8:]) else None


@dataclass(frozen=True)
class WitnessKey(SignerKey):
    """A witness's private key (an Ed25519 seed) under its name."""

    def verifier(self) -> CosignerKey:
        public = super().verifier().public_key
        return CosignerKey(self.name, cosigner_key_id(self.name, public), public)

    def cosign(self, text: str, timestamp: int) -> str:
        """The signature line of a cosignature on a checkpoint's note text."""
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(cosigned_message(text, timestamp))
        encoded = base64.b64encode(self.verifier().key_id + struct.pack(">Q", timestamp) + signature).decode()
        return f"{EM_DASH} {self.name} {encoded}\n"


def cosignatures(note: str, keys: list[CosignerKey]) -> dict[str, int]:
    """Witness name -> timestamp, for each trusted witness whose cosignature on ``note`` verifies. A trusted
    witness's cosignature that does not verify rejects the note (NoteError); unknown lines are ignored."""
    text, signatures = split_note(note)
    known = {(k.name, k.key_id): k for k in keys}
    found = {}
    for signature in signatures:
        key = known.get((signature.name, signature.key_id))
        if key is None:
            continue
        timestamp = key.verify_cosignature(text, signature.signature)
        if timestamp is None:
            raise NoteError(f"the cosignature by witness {key.name} does not verify: the note was altered")
        found[key.name] = timestamp
    return found
