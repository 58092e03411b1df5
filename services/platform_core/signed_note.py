"""C2SP signed notes and tlog checkpoints, Ed25519 (pure).

Formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, and the key
encodings of golang.org/x/mod/sumdb/note):

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n[time <UTC timestamp>\\n][id <checkpoint id>\\n]
    \\n
    — <key name> <base64(key ID (4 bytes, big-endian) || Ed25519 signature)>\\n

    key ID        = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]
    verifier key  = <key name>+<key ID as 8 hex digits>+<base64(0x01 || public key)>
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# The audit log's identity unless CAMPAIGN_AUDIT_ORIGIN names another: first line of every checkpoint,
# and the name of the signing key.
DEFAULT_ORIGIN = "campaign.example/wuhan-2016/audit"
EM_DASH = "\u2014"
ED25519 = 0x01
TIME_EXTENSION = "time "
# The signer numbers its checkpoints 1, 2, 3, ... and signs the number, so a checkpoint removed from the
# middle of the published sequence shows as a gap no one can renumber without the key.
ID_EXTENSION = "id "


class NoteError(ValueError):
    """A note, key or checkpoint that is malformed or not validly signed; the message says why."""


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def parse_vkey(text: str, algorithm: int, make_id, what: str) -> tuple[str, bytes, bytes]:
    """``<name>+<key ID, 8 hex>+<base64(algorithm byte || 32-byte Ed25519 key)>`` as (name, key ID, public key),
    checked: the algorithm byte and the key ID computed by ``make_id(name, public key)``."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        wanted_id = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"{what} {text.strip()!r} is not <name>+<8 hex>+<base64 key>") from exc
    check_key_name(name)
    if len(raw) != 33 or raw[0] != algorithm:
        raise NoteError(f"{what} {name}: only Ed25519 keys of type 0x{algorithm:02x} (32 bytes) are supported")
    if len(wanted_id) != 4 or make_id(name, raw[1:]) != wanted_id:
        raise NoteError(f"{what} {name}: key ID {hex_id} does not match the key")
    return name, wanted_id, raw[1:]


@dataclass(frozen=True)
class VerifierKey:
    """A public key an inspector trusts, by name and key ID."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        return cls(*parse_vkey(text, ED25519, key_id, "verifier key"))

    def encode(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    """The log's private key (an Ed25519 seed) under a key name."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self):
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")

    @classmethod
    def from_base64_seed(cls, name: str, encoded: str) -> "SignerKey":
        try:
            seed = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as exc:
            raise NoteError("the audit signing key must be base64 of a 32-byte Ed25519 seed") from exc
        if len(seed) != 32:
            raise NoteError(f"the audit signing key decodes to {len(seed)} bytes; an Ed25519 seed is 32")
        return cls(name, seed)

    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def verifier(self) -> VerifierKey:
        public = self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, key_id(self.name, public), public)

    def signature_line(self, text: str) -> str:
        signature = self._private().sign(text.encode("utf-8"))
        encoded = base64.b64encode(key_id(self.name, self.verifier().public_key) + signature).decode()
        return f"{EM_DASH} {self.name} {encoded}\n"


def sign_note(text: str, *signers: SignerKey) -> str:
    """A signed note: the text (ending in a newline), a blank line, one signature line per key."""
    _check_text(text)
    if not signers:
        raise NoteError("a note needs at least one signature")
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters other than newline")


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Text and signatures of a note (unverified)."""
    if not note.endswith("\n"):
        raise NoteError("a signed note must end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("a signed note needs a blank line before its signatures")
    text, block = note[:cut + 1], note[cut + 2:]
    _check_text(text)
    signatures = []
    for line in block.splitlines():
        prefix = EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteError(f"signature line {line!r} does not start with an em dash and a space")
        parts = line[len(prefix):].split(" ")
        if len(parts) != 2:
            raise NoteError(f"signature line {line!r} is not '— <key name> <base64>'")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except binascii.Error as exc:
            raise NoteError(f"signature of {parts[0]} is not base64") from exc
        if len(raw) < 5:
            raise NoteError(f"signature of {parts[0]} is too short")
        signatures.append(Signature(parts[0], raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("a signed note needs at least one signature line")
    return text, signatures


def open_note(note: str, keys: list[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """The note's text when a known key signed it. Unknown signatures are ignored (rotation,
    witnesses); a known key's bad signature rejects the whole note (c2sp.org/signed-note)."""
    text, signatures = split_note(note)
    known = {(k.name, k.key_id): k for k in keys}
    verified = []
    for sig in signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            continue
        if not key.verify(text.encode("utf-8"), sig.signature):
            raise NoteError(f"the signature by {sig.name} (key {sig.key_id.hex()}) does not verify: "
                            "the note was altered or not signed by this key")
        verified.append(key)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
        raise NoteError(f"no signature by a trusted key (signed by: {names})")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, root hash, and two extension lines: the time it was signed and the
    checkpoint's number in the signer's sequence."""

    origin: str
    size: int
    root_hash: bytes
    time: str | None = None  # canonical UTC text, e.g. 2016-11-20T08:00:00.000000Z
    id: int | None = None  # 1, 2, 3, ... in signing order

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        if self.time is not None:
            lines.append(TIME_EXTENSION + self.time)
        if self.id is not None:
            lines.append(f"{ID_EXTENSION}{self.id}")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("checkpoint text must be at least three non-empty lines ending in a newline")
        origin, size_text, root_text, *extensions = lines[:-1]
        if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
            raise NoteError(f"checkpoint tree size {size_text!r} is not a decimal without leading zeros")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(root) != 32:
            raise NoteError(f"checkpoint root hash is {len(root)} bytes, not 32")
        time = next((e[len(TIME_EXTENSION):] for e in extensions if e.startswith(TIME_EXTENSION)), None)
        id_text = next((e[len(ID_EXTENSION):] for e in extensions if e.startswith(ID_EXTENSION)), None)
        if id_text is not None and (not id_text.isdigit() or id_text.startswith("0")):
            raise NoteError(f"checkpoint id {id_text!r} is not a positive decimal without leading zeros")
        return cls(origin, int(size_text), root, time, None if id_text is None else int(id_text))

    def signed_at(self) -> datetime | None:
        return datetime.fromisoformat(self.time.replace("Z", "+00:00")) if self.time else None


def open_checkpoint(note: str, keys: list[VerifierKey], origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and parse it; the origin must match when given."""
    text, _ = open_note(note, keys)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}")
    return checkpoint
