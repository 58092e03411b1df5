"""Envelope encryption of personal data, shared by every service that holds some (docs/security.md).

Each data subject (a member, the persons record of an entity) has its own random data key
(AES-256-GCM) that seals that subject's fields. The data key is stored only wrapped by the
service's master key. Erasing a subject deletes its wrapped key (crypto-shredding): the sealed
values can never be opened again, wherever copies of them went.

Equality checks (duplicate identity numbers, one legal representative across many entities) use
keyed hashes: HMAC-SHA256 under a key derived from the master key, so nobody without that key can
test a guess against a hash.

A master key ring holds the service's master keys, newest first. The newest wraps new data keys
and makes keyed hashes; the older ones only unwrap data keys not re-wrapped yet (rotation).
Pure: no I/O; ``platform_core.data_keys`` keeps the wrapped keys in the service's schema.
"""

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_CHARS = 16
NONCE_BYTES = 12
DATA_KEY_BYTES = 32  # AES-256
_SALT = b"campaign-platform/personal-data/v1"


class UnknownMasterKey(LookupError):
    """A data key was wrapped by a master key that is not in the ring (retired too early?)."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(secret)


def _seal(aead: AESGCM, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, associated)


def _open(aead: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    return aead.decrypt(bytes(sealed[:NONCE_BYTES]), bytes(sealed[NONCE_BYTES:]), associated)


def ring_secrets(text: str) -> list[str]:
    """A key ring's secrets from its text: one per line (or whitespace-separated), newest first;
    a line starting with ``#`` is a comment."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [secret for line in lines for secret in line.split()]


class MasterKey:
    """One master key: its public id, the key that wraps data keys and the key of keyed hashes,
    each derived from the secret for its own purpose (HKDF-SHA256)."""

    def __init__(self, secret: str):
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"a personal data master key must be {MIN_SECRET_CHARS} characters at least")
        raw = secret.encode("utf-8")
        self.key_id = _derive(raw, b"key id")[:8].hex()  # names the key in rows and events, reveals nothing
        self._wrapping = AESGCM(_derive(raw, b"wrap data keys"))
        self._hash_key = _derive(raw, b"keyed hashes")

    def __repr__(self) -> str:
        return f"MasterKey({self.key_id})"


class MasterKeyRing:
    """The service's master keys, newest first."""

    def __init__(self, secrets: Sequence[str]):
        keys = [MasterKey(secret) for secret in secrets]
        if not keys:
            raise ValueError("the personal data master key ring is empty")
        self.current = keys[0]
        self._by_id = {key.key_id: key for key in keys}
        if len(self._by_id) != len(keys):
            raise ValueError("the personal data master key ring names one key twice")

    @classmethod
    def parse(cls, text: str) -> "MasterKeyRing":
        return cls(ring_secrets(text))

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise UnknownMasterKey(f"data key wrapped by master key {key_id}, which is not in the ring") from None


class DataKey:
    """One subject's key. The associated data binds each sealed value to its subject and field:
    a value copied to another row or field does not open."""

    __slots__ = ("_aead",)

    def __init__(self, material: bytes):
        self._aead = AESGCM(material)

    def seal(self, subject_id: str, field: str, plaintext: str) -> bytes:
        return _seal(self._aead, plaintext.encode("utf-8"), f"{subject_id}|{field}".encode())

    def open(self, subject_id: str, field: str, sealed: bytes) -> str:
        return _open(self._aead, sealed, f"{subject_id}|{field}".encode()).decode("utf-8")

    def __repr__(self) -> str:  # a traceback or log line must not show it
        return "DataKey(<secret>)"


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: sealed by the master key ``master_key_id``, bound to its subject."""

    master_key_id: str
    wrapped: bytes


class PersonalDataVault:
    """Data keys made, wrapped and unwrapped under the service's master key ring; keyed hashes."""

    def __init__(self, master_keys: MasterKeyRing | str):
        self.ring = master_keys if isinstance(master_keys, MasterKeyRing) else MasterKeyRing.parse(master_keys)

    @property
    def hash_key_id(self) -> str:
        """The id of the master key whose derived key makes keyed hashes now (changes on rotation)."""
        return self.ring.current.key_id

    def new_data_key(self, subject_id: str) -> tuple[DataKey, WrappedKey]:
        material = os.urandom(DATA_KEY_BYTES)
        return DataKey(material), self._wrap(subject_id, material)

    def unwrap(self, subject_id: str, wrapped: WrappedKey) -> DataKey:
        master = self.ring.get(wrapped.master_key_id)
        return DataKey(_open(master._wrapping, wrapped.wrapped, subject_id.encode()))

    def rewrap(self, subject_id: str, wrapped: WrappedKey) -> WrappedKey:
        """The same data key wrapped by the newest master key (rotation)."""
        master = self.ring.get(wrapped.master_key_id)
        return self._wrap(subject_id, _open(master._wrapping, wrapped.wrapped, subject_id.encode()))

    def keyed_hash(self, label: str, text: str) -> bytes:
        """HMAC-SHA256 of ``label`` and ``text``: equal texts under one label, equal hashes."""
        return hmac.new(self.ring.current._hash_key, f"{label}\x00{text}".encode("utf-8"), hashlib.sha256).digest()

    def _wrap(self, subject_id: str, material: bytes) -> WrappedKey:
        master = self.ring.current
        return WrappedKey(master.key_id, _seal(master._wrapping, material, subject_id.encode()))
