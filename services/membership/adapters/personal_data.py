"""Sealing personal data (names, identity numbers) and hashing identities for duplicates.

Two keys are derived with HKDF-SHA256 from CAMPAIGN_PERSONAL_DATA_KEY: one for
AES-256-GCM encryption, one for the HMAC-SHA256 duplicate-detection hash, so
neither use weakens the other. The associated data binds a ciphertext to its
member and field: a sealed value copied to another row does not open.
"""

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
SALT = b"campaign-platform/membership/personal-data"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=purpose).derive(secret)


class PersonalDataVault:
    def __init__(self, secret: str):
        if len(secret) < 16:
            raise ValueError("the personal data key must be 16 characters at least")
        master = secret.encode("utf-8")
        self._aead = AESGCM(_derive(master, b"aes-256-gcm v1"))
        self._mac_key = _derive(master, b"duplicate-detection hmac v1")

    def identity_hash(self, id_number: str) -> bytes:
        """Keyed hash of a normalized identity number: equal people, equal hashes."""
        return self.keyed_digest("id_number", id_number)

    def keyed_digest(self, label: str, text: str) -> bytes:
        return hmac.new(self._mac_key, f"{label}\x00{text}".encode("utf-8"), hashlib.sha256).digest()

    def seal(self, member_id: str, field: str, plaintext: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), f"{member_id}|{field}".encode())

    def open(self, member_id: str, field: str, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, f"{member_id}|{field}".encode()).decode("utf-8")
