"""Membership's projection of ``registry.events``: where each entity lies.

Reads only EntityRegistered's ``entity_id``, ``kind``, ``district_code`` and
``street_code``, without the registry's contract module, so the two services
evolve apart. Other event types are not needed here and are skipped.
A payload without those keys raises, and the consumer dead-letters it.
"""

import re
from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from platform_core.contracts.membership import ENTITY_ID
from platform_core.envelope import EventEnvelope

from ..adapters.tables import tables

DISTRICT = re.compile(r"^\d{6}$")
STREET = re.compile(r"^\d{9}$")


def entity_location(payload: dict) -> dict:
    entity_id, district, street = payload["entity_id"], payload["district_code"], payload.get("street_code")
    if not isinstance(entity_id, str) or not re.match(ENTITY_ID, entity_id):
        raise ValueError("EntityRegistered.entity_id is not entity-<uuid>")
    if not isinstance(district, str) or not DISTRICT.match(district):
        raise ValueError("EntityRegistered.district_code is not a 6-digit division code")
    if street is not None and (not isinstance(street, str) or not STREET.match(street)):
        raise ValueError("EntityRegistered.street_code is not a 9-digit division code")
    return {"entity_id": entity_id, "kind": str(payload["kind"]), "district_code": district, "street_code": street}


def entity_projection(schema: str) -> Callable[[Connection, EventEnvelope], None]:
    t = tables(schema).entities

    def handle(conn: Connection, envelope: EventEnvelope) -> None:
        if envelope.type != "EntityRegistered":
            return
        row = entity_location(envelope.payload) | {"event_id": envelope.event_id,
                                                   "recorded_at": envelope.recorded_at}
        statement = pg_insert(t).values(**row)
        conn.execute(statement.on_conflict_do_update(
            index_elements=[t.c.entity_id],
            set_={c: statement.excluded[c] for c in ("kind", "district_code", "street_code", "event_id",
                                                      "recorded_at")},
            where=t.c.recorded_at <= statement.excluded.recorded_at))

    return handle
