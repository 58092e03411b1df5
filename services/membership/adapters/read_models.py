"""Keeps membership's read tables from its own events, in the appending transaction.

The same function serves a rebuild: replaying the event store through
``apply_member_event`` gives the same ``members``, ``functional_memberships``
and ``member_growth`` rows.
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope

from platform_core.reference.city_time import local_date

from ..domain.calendar import half_month
from .tables import Tables

GROWTH_WAY = {"MemberRegistered": "found", "MemberDeveloped": "developed", "MemberRecruited": "recruited",
              "MemberRevealed": "revealed"}


def apply_member_event(conn: Connection, t: Tables, envelope: EventEnvelope) -> None:
    p, kind = envelope.payload, envelope.type
    member_id = p["member_id"]
    members = t.members
    if kind in ("MemberRegistered", "MemberDeveloped", "MemberRecruited"):
        conn.execute(t.insert_member, dict(
            member_id=member_id, standing=p["standing"], active=True, way=GROWTH_WAY[kind],
            admitted_on=date.fromisoformat(p["admitted_on"]), entity_id=p["entity_id"],
            organization_id=p["organization_id"], version=envelope.stream_version, updated_at=envelope.recorded_at))
    else:
        changes = {"version": envelope.stream_version, "updated_at": envelope.recorded_at}
        if kind == "MemberRevealed":
            changes |= {"organization_id": p["organization_id"], "entity_id": p["entity_id"]}
        elif kind == "MemberConfirmed":
            changes |= {"standing": "formal"}
        elif kind == "MemberTransferred":
            changes |= {"organization_id": p["to_organization_id"], "entity_id": p["to_entity_id"]}
        elif kind == "MemberLeft":
            changes |= {"active": False}
            conn.execute(t.functional.delete().where(t.functional.c.member_id == member_id))
        elif kind == "FunctionalMembershipAdded":
            conn.execute(t.functional.insert().values(member_id=member_id, organization_id=p["organization_id"],
                                                      added_at=envelope.recorded_at))
        elif kind == "FunctionalMembershipRemoved":
            conn.execute(t.functional.delete().where((t.functional.c.member_id == member_id)
                                                     & (t.functional.c.organization_id == p["organization_id"])))
        conn.execute(members.update().where(members.c.member_id == member_id).values(**changes))
    if kind in GROWTH_WAY:
        day = local_date(envelope.occurred_at)
        conn.execute(t.insert_growth, dict(
            event_id=envelope.event_id, member_id=member_id, way=GROWTH_WAY[kind], entity_id=p["entity_id"],
            business_date=day, period=half_month(day)))


def district_of(conn: Connection, t: Tables, entity_id: str) -> str | None:
    """The entity's district from membership's own projection of registry.events (None: not yet known)."""
    return conn.execute(sa.select(t.entities.c.district_code).where(t.entities.c.entity_id == entity_id)).scalar()
