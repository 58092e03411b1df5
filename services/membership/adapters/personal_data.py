"""Members' identities (name, identity number), each sealed with the member's own data key.

The vault is platform_core's (per-subject data keys wrapped by membership's master key ring,
keyed hashes). A member's wrapped data key is the row of ``personal_data_keys`` whose subject is
the member id; ``id_hash`` is the keyed hash of the normalized identity number, UNIQUE: the
duplicate check (R13). Erasure shreds the data key and clears the row's sealed values and hash:
the member stays counted, the person can no longer be known from anything membership holds.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.data_keys import DataKeys
from platform_core.vault import PersonalDataVault, WrappedKey

from .tables import Tables

__all__ = ["Identities", "PersonalDataVault", "reveal_identity"]


class Identities:
    """The ``member_identities`` table and the members' data keys."""

    def __init__(self, tables: Tables, vault: PersonalDataVault):
        self.tables, self.vault = tables, vault
        self.keys = DataKeys(tables.identities.schema, vault)

    def id_hash(self, id_number: str) -> bytes:
        """Keyed hash of a normalized identity number: the same person, the same hash."""
        return self.vault.keyed_hash("id_number", id_number)

    def insert(self, conn: Connection, member_id: str, id_hash: bytes, id_number: str, name: str) -> bool:
        """Seal a new member's identity with a new data key; False when ``id_hash`` is registered already
        (the caller rolls the transaction back, data key included)."""
        key = self.keys.create(conn, member_id)
        inserted = conn.execute(self.tables.insert_identity, dict(
            member_id=member_id, id_hash=id_hash, id_number_sealed=key.seal(member_id, "id_number", id_number),
            name_sealed=key.seal(member_id, "name", name))).first()
        return inserted is not None

    def erase(self, conn: Connection, member_id: str, reason: str, at: datetime) -> None:
        """Crypto-shredding: the data key is deleted; the sealed values and the hash go too."""
        self.keys.shred(conn, member_id)
        i = self.tables.identities
        conn.execute(i.update().where(i.c.member_id == member_id).values(
            id_hash=None, id_number_sealed=None, name_sealed=None, erased_at=at, erasure_reason=reason))

    def rehash_batch(self, conn: Connection, after: str, limit: int = 1000) -> list[str]:
        """Rotation: ``id_hash`` recomputed under the newest master key for the members after ``after``."""
        i, k = self.tables.identities, self.keys.table
        rows = conn.execute(sa.select(i.c.member_id, i.c.id_number_sealed, k.c.master_key_id, k.c.wrapped_key)
                            .join(k, k.c.subject_id == i.c.member_id).where(i.c.member_id > after)
                            .order_by(i.c.member_id).limit(limit)).all()
        for row in rows:
            key = self.keys.unwrap(row.member_id, row.master_key_id, row.wrapped_key)
            number = key.open(row.member_id, "id_number", row.id_number_sealed)
            conn.execute(i.update().where(i.c.member_id == row.member_id).values(id_hash=self.id_hash(number)))
        return [row.member_id for row in rows]


def reveal_identity(row: dict[str, Any], vault: PersonalDataVault) -> dict[str, Any]:
    """Name and identity number of a ``member_rows`` row; both None once erased."""
    if row.get("wrapped_key") is None:
        return {"name": None, "id_number": None}
    member_id = row["member_id"]
    key = vault.unwrap(member_id, WrappedKey(row["master_key_id"], bytes(row["wrapped_key"])))
    return {"name": key.open(member_id, "name", row["name_sealed"]),
            "id_number": key.open(member_id, "id_number", row["id_number_sealed"])}
