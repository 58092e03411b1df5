"""Keeping the entities' sealed persons in step: entities registered before sealing, and key rotation.

- ``seal_legacy_persons``: entities whose read row still holds the persons in clear (registered before
  registry.events v2) get a sealed record; their facts keep only its reference and hashes. Their version 1
  events stay as written (docs/security.md). Runs when the service starts; a no-op once done.
- ``rehash_batch``: after a master key rotation, the hashes in the read rows are recomputed under the
  newest hash key (events keep the hashes they were written with, named by ``hash_key``).
"""

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.contracts.registry import PERSONAL_FIELDS
from registry.domain.persons import EMPTY
from registry.handlers.context import RegistryContext

_SET_RECORD = sa.text(
    "UPDATE entities SET facts = jsonb_set(facts - CAST(:clear AS TEXT[]), '{personal_data}', CAST(:sealed AS JSONB)),"
    " address_key = :address_key, person_key = :person_key, persons_ref = :ref WHERE entity_id = :entity_id")
_LEGACY = sa.text("SELECT entity_id, facts FROM entities WHERE facts ? 'person_in_charge' ORDER BY entity_id")
_READABLE = sa.text(
    "SELECT e.entity_id, p.persons_ref, p.sealed, k.master_key_id, k.wrapped_key FROM entities e"
    " JOIN entity_persons p ON p.persons_ref = e.persons_ref JOIN personal_data_keys k ON k.subject_id = p.persons_ref"
    " WHERE e.entity_id > :after AND p.erased_at IS NULL ORDER BY e.entity_id LIMIT :limit")


def _set_record(conn: Connection, entity_id: str, sealed: Mapping[str, Any]) -> None:
    conn.execute(_SET_RECORD, {"clear": list(PERSONAL_FIELDS), "sealed": json.dumps(dict(sealed)),
                               "address_key": sealed["address_hash"], "person_key": sealed["legal_representative_hash"],
                               "ref": sealed["ref"], "entity_id": entity_id})


def seal_legacy_persons(ctx: RegistryContext) -> int:
    """Seal the persons still held in clear in the read rows; how many entities."""
    with ctx.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"legacy-persons:{ctx.store.schema}"})
        rows = conn.execute(_LEGACY).all()
        people = [(row.entity_id, {**EMPTY, **{k: row.facts.get(k) for k in PERSONAL_FIELDS if k in row.facts}})
                  for row in rows]
        for entity_id, sealed in ctx.persons.seal_new(conn, people).items():
            _set_record(conn, entity_id, sealed)
    return len(rows)


def rehash_batch(ctx: RegistryContext, conn: Connection, after: str, limit: int = 1000) -> list[str]:
    """Rotation: the read rows' hashes of the entities after ``after`` recomputed under the newest hash key."""
    conn.exec_driver_sql(ctx.store.search_path)
    rows = conn.execute(_READABLE, {"after": after, "limit": limit}).all()
    for row in rows:
        key = ctx.persons.keys.unwrap(row.persons_ref, row.master_key_id, row.wrapped_key)
        people = ctx.persons.open_with(key, row.persons_ref, row.sealed)
        _set_record(conn, row.entity_id, ctx.persons.sealed_payload(row.persons_ref, people))
    return [row.entity_id for row in rows]
