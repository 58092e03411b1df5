"""Membership's projection of ``formation.events``: which organizations exist, are active, cover which entities.

Reads only the keys it needs (``organization_id``, ``mode``, ``entity_ids``,
``district_code``, ``remaining_entity_ids``) of OrganizationFormed, OrganizationRestructured and
OrganizationDissolved, without formation's contract module, so the two services
evolve apart (as ``entity_projection`` does for registry.events). Other types are
skipped; a payload without those keys raises, and the consumer dead-letters it.
An organization's events share its stream, hence its partition: they arrive in order.
"""

import re
from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from platform_core.contracts.membership import ENTITY_ID, ORGANIZATION_ID
from platform_core.envelope import EventEnvelope

from ..adapters.tables import tables

MODES = ("standalone", "joint", "functional")
DISTRICT = re.compile(r"^\d{6}$")


def _organization_id(payload: dict) -> str:
    organization_id = payload["organization_id"]
    if not isinstance(organization_id, str) or not re.match(ORGANIZATION_ID, organization_id):
        raise ValueError("organization_id is not organization-<uuid>")
    return organization_id


def _entity_ids(payload: dict, key: str = "entity_ids") -> list[str]:
    ids = payload[key]
    if not isinstance(ids, list) or not all(isinstance(e, str) and re.match(ENTITY_ID, e) for e in ids):
        raise ValueError(f"{key} is not a list of entity-<uuid>")
    return ids


def formed(payload: dict) -> dict:
    """The row an OrganizationFormed makes (ValueError when the payload is off-contract)."""
    if payload["mode"] not in MODES:
        raise ValueError(f"OrganizationFormed.mode {payload['mode']!r} is not one of {', '.join(MODES)}")
    if not isinstance(payload["district_code"], str) or not DISTRICT.match(payload["district_code"]):
        raise ValueError("OrganizationFormed.district_code is not a 6-digit division code")
    return {"organization_id": _organization_id(payload), "mode": payload["mode"],
            "district_code": payload["district_code"], "entity_ids": _entity_ids(payload), "active": True}


def organization_projection(schema: str) -> Callable[[Connection, EventEnvelope], None]:
    t = tables(schema).organizations

    def handle(conn: Connection, envelope: EventEnvelope) -> None:
        p, seen = envelope.payload, {"event_id": envelope.event_id, "recorded_at": envelope.recorded_at}
        if envelope.type == "OrganizationFormed":
            statement = pg_insert(t).values(**formed(p), **seen)
            conn.execute(statement.on_conflict_do_nothing(index_elements=[t.c.organization_id]))
        elif envelope.type == "OrganizationRestructured":  # the entities split out leave it; the rest stay
            conn.execute(t.update().where(t.c.organization_id == _organization_id(p))
                         .values(entity_ids=_entity_ids(p, "remaining_entity_ids"), **seen))
        elif envelope.type == "OrganizationDissolved":
            conn.execute(t.update().where(t.c.organization_id == _organization_id(p)).values(active=False, **seen))

    return handle
