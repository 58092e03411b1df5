"""Identities sealed before per-member data keys existed (one AES key, derived from membership's
master secret, for everybody) get a data key of their own: opened with the old derived key,
sealed again with a new member's key, their duplicate hash recomputed under the vault's hash key.

Runs when the service starts (``bootstrap.prepare``), under an advisory lock; a no-op once done.
"""

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Engine

from platform_core.vault import NONCE_BYTES, ring_secrets

from .personal_data import Identities

_LEGACY_SALT = b"campaign-platform/membership/personal-data"


def _legacy_key(secret: str) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=_LEGACY_SALT,
                       info=b"aes-256-gcm v1").derive(secret.encode("utf-8")))


def upgrade_legacy_identities(engine: Engine, identities: Identities, master_keys: str) -> int:
    """Re-seal every identity that has no data key and was not erased; how many."""
    i, k = identities.tables.identities, identities.keys.table
    legacy = _legacy_key(ring_secrets(master_keys)[0])  # the one secret before rings existed
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"legacy-identities:{i.schema}"})
        rows = conn.execute(sa.select(i.c.member_id, i.c.id_number_sealed, i.c.name_sealed).where(
            i.c.erased_at.is_(None), ~sa.exists().where(k.c.subject_id == i.c.member_id))).all()
        for row in rows:
            def old(field: str, sealed: bytes) -> str:
                sealed = bytes(sealed)
                return legacy.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                      f"{row.member_id}|{field}".encode()).decode("utf-8")

            number, name = old("id_number", row.id_number_sealed), old("name", row.name_sealed)
            key = identities.keys.create(conn, row.member_id)
            conn.execute(i.update().where(i.c.member_id == row.member_id).values(
                id_hash=identities.id_hash(number), id_number_sealed=key.seal(row.member_id, "id_number", number),
                name_sealed=key.seal(row.member_id, "name", name)))
    return len(rows)
