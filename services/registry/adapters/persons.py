"""The registry's sealed persons: ``entity_persons`` (one readable record per entity) and their data keys.

A record (``persons-<uuid>``, the reference events carry) holds an entity's person in charge, whether
that person is a member, its legal representative and its address, as one AES-256-GCM sealed JSON
text under the record's own data key (platform_core.vault). Erasure deletes the key (crypto-shredding)
and clears the sealed text; the record stays as the trace that it was erased, and when.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.data_keys import DataKeys
from platform_core.vault import DataKey, PersonalDataVault
from registry.domain.persons import hash_inputs

SEALED_FIELD = "persons"
# What a read of entities joins for the persons (entities aliased ``e``), and the names it gives them.
PERSONS_COLUMNS = ("p.sealed AS persons_sealed, p.erased_at AS persons_erased_at,"
                   " k.master_key_id AS persons_master_key_id, k.wrapped_key AS persons_wrapped_key")
PERSONS_JOIN = ("LEFT JOIN entity_persons p ON p.persons_ref = e.persons_ref"
                " LEFT JOIN personal_data_keys k ON k.subject_id = e.persons_ref")

# A table, not text: many rows go in as multi-row VALUES (insertmanyvalues), not one statement per row
# (an import's 10,000 records took 10,000 round trips).
_PERSONS = sa.table("entity_persons", sa.column("persons_ref"), sa.column("entity_id"),
                    sa.column("sealed", sa.LargeBinary))
_INSERT = _PERSONS.insert()
_RESEAL = sa.text("UPDATE entity_persons SET sealed = :sealed, updated_at = now() WHERE persons_ref = :ref")
_ERASE = sa.text("UPDATE entity_persons SET sealed = NULL, erased_at = :at, erasure_reason = :reason"
                 " WHERE persons_ref = :ref")
_CURRENT = sa.text(
    "SELECT p.persons_ref, p.sealed, k.master_key_id, k.wrapped_key FROM entities e"
    " JOIN entity_persons p ON p.persons_ref = e.persons_ref JOIN personal_data_keys k ON k.subject_id = p.persons_ref"
    " WHERE e.entity_id = :entity_id AND p.erased_at IS NULL")


@dataclass(frozen=True)
class PersonsRecord:
    """An entity's record as a read joined it: still sealed."""

    ref: str
    sealed: bytes | None
    master_key_id: str | None
    wrapped_key: bytes | None
    erased_at: datetime | None

    def __repr__(self) -> str:
        return f"PersonsRecord({self.ref}, erased_at={self.erased_at})"


@dataclass(frozen=True)
class OpenRecord:
    ref: str
    key: DataKey
    persons: dict[str, Any]


class EntityPersons:
    def __init__(self, vault: PersonalDataVault, schema: str):
        self.vault = vault
        self.keys = DataKeys(schema, vault)

    def seal_new(self, conn: Connection, entities: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, dict]:
        """A new record, with a new data key, per (entity id, persons); entity id -> its SealedPersons payload."""
        refs = {entity_id: f"persons-{uuid.uuid4()}" for entity_id, _ in entities}
        keys = self.keys.create_many(conn, refs.values())
        rows, payloads = [], {}
        for entity_id, persons in entities:
            ref = refs[entity_id]
            rows.append({"persons_ref": ref, "entity_id": entity_id, "sealed": self._seal(keys[ref], ref, persons)})
            payloads[entity_id] = self.sealed_payload(ref, persons)
        if rows:
            conn.execute(_INSERT, rows)
        return payloads

    def reseal(self, conn: Connection, entity_id: str, current: OpenRecord | None,
               persons: Mapping[str, Any]) -> dict:
        """The entity's persons changed: the readable record sealed again (same key), or a new one."""
        if current is None:
            return self.seal_new(conn, [(entity_id, persons)])[entity_id]
        conn.execute(_RESEAL, {"ref": current.ref, "sealed": self._seal(current.key, current.ref, persons)})
        return self.sealed_payload(current.ref, persons)

    def current(self, conn: Connection, entity_id: str) -> OpenRecord | None:
        """The entity's readable record, opened; None when it has none (erased)."""
        row = conn.execute(_CURRENT, {"entity_id": entity_id}).first()
        if row is None:
            return None
        key = self.keys.unwrap(row.persons_ref, row.master_key_id, row.wrapped_key)
        return OpenRecord(row.persons_ref, key, self.open_with(key, row.persons_ref, row.sealed))

    def open(self, record: PersonsRecord | None) -> dict[str, Any] | None:
        """A joined record's persons; None when erased."""
        if record is None or record.sealed is None or record.wrapped_key is None:
            return None
        key = self.keys.unwrap(record.ref, record.master_key_id, record.wrapped_key)
        return self.open_with(key, record.ref, record.sealed)

    def erase(self, conn: Connection, ref: str, reason: str, at: datetime) -> None:
        """Crypto-shredding: the record's data key deleted, its sealed text cleared, the erasure noted."""
        self.keys.shred(conn, ref)
        conn.execute(_ERASE, {"ref": ref, "reason": reason, "at": at})

    def sealed_payload(self, ref: str, persons: Mapping[str, Any]) -> dict[str, Any]:
        """What events carry (SealedPersons): the reference, the hash key's id and the keyed hashes (hex)."""
        hashes = {name: self.vault.keyed_hash(*given).hex() if given else None
                  for name, given in hash_inputs(persons).items()}
        return {"ref": ref, "hash_key": self.vault.hash_key_id, **hashes}

    def digest(self, persons: Mapping[str, Any]) -> dict[str, str]:
        """Keyed digests of the persons, for idempotency fingerprints (which must not hold them in clear)."""
        return {name: self.vault.keyed_hash(name, json.dumps(value, ensure_ascii=False)).hex()
                for name, value in sorted(persons.items())}

    @staticmethod
    def _seal(key: DataKey, ref: str, persons: Mapping[str, Any]) -> bytes:
        return key.seal(ref, SEALED_FIELD, json.dumps(dict(persons), ensure_ascii=False, sort_keys=True))

    @staticmethod
    def open_with(key: DataKey, ref: str, sealed: bytes) -> dict[str, Any]:
        return json.loads(key.open(ref, SEALED_FIELD, bytes(sealed)))
