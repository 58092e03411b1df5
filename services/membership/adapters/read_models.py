"""Keeps membership's read tables from its own events, in the appending transaction.

The same function serves a rebuild: replaying the event store through
``apply_member_event`` gives the same ``members``, ``functional_memberships``,
``member_growth`` and ``member_releases`` rows. PersonalDataAccessed is on its
own streams and changes no read table (inspectors read it in the audit log).
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope

from platform_core.reference.city_time import local_date

from ..domain.calendar import half_month
from ..domain.organizations import KnownOrganization
from .tables import Tables

GROWTH_WAY = {"MemberRegistered": "found", "MemberDeveloped": "developed", "MemberRecruited": "recruited",
              "MemberRevealed": "revealed"}


def apply_member_event(conn: Connection, t: Tables, envelope: EventEnvelope) -> None:
    p, kind = envelope.payload, envelope.type
    if kind == "PersonalDataAccessed":
        return
    member_id = p["member_id"]
    members = t.members
    if kind in ("MemberRegistered", "MemberDeveloped", "MemberRecruited"):
        conn.execute(t.insert_member, dict(
            member_id=member_id, standing=p["standing"], active=True, way=GROWTH_WAY[kind],
            admitted_on=date.fromisoformat(p["admitted_on"]), entity_id=p["entity_id"],
            organization_id=p["organization_id"], outside_organization=p.get("outside_organization"),
            version=envelope.stream_version, updated_at=envelope.recorded_at))
    else:
        changes = {"version": envelope.stream_version, "updated_at": envelope.recorded_at}
        if kind == "MemberRevealed":
            changes |= {"organization_id": p["organization_id"], "outside_organization": p.get("outside_organization"),
                        "entity_id": p["entity_id"]}
        elif kind == "MemberConfirmed":
            changes |= {"standing": "formal"}
        elif kind == "MemberTransferred":
            changes |= {"organization_id": p["to_organization_id"],
                        "outside_organization": p.get("to_outside_organization"), "entity_id": p["to_entity_id"]}
            _release_ended(conn, t, p.get("release_id"), "accepted", envelope)
        elif kind == "MemberWorkplaceChanged":
            changes |= {"entity_id": p["to_entity_id"]}
            _release_ended(conn, t, p.get("release_id"), "accepted", envelope)
        elif kind == "MemberReleased":
            _released(conn, t, p, envelope)
        elif kind == "MemberReleaseWithdrawn":
            _release_ended(conn, t, p["release_id"], "withdrawn", envelope)
        elif kind == "MemberLeft":
            changes |= {"active": False}
            conn.execute(t.functional.delete().where(t.functional.c.member_id == member_id))
            conn.execute(t.releases.update().where((t.releases.c.member_id == member_id)
                                                   & (t.releases.c.state == "pending"))
                         .values(state="void", updated_at=envelope.recorded_at))
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


def _released(conn: Connection, t: Tables, p: dict, envelope: EventEnvelope) -> None:
    # a release that lapsed unanswered is replaced by this one
    conn.execute(t.releases.update().where((t.releases.c.member_id == p["member_id"]) & (t.releases.c.state == "pending"))
                 .values(state="lapsed", updated_at=envelope.recorded_at))
    conn.execute(t.releases.insert().values(
        release_id=p["release_id"], member_id=p["member_id"], moves=p["moves"], from_entity_id=p["from_entity_id"],
        to_entity_id=p["to_entity_id"], to_district_code=p["to_district_code"],
        to_organization_id=p.get("to_organization_id"), to_outside_organization=p.get("to_outside_organization"),
        released_on=date.fromisoformat(p["released_on"]), expires_on=date.fromisoformat(p["expires_on"]),
        state="pending", updated_at=envelope.recorded_at))


def _release_ended(conn: Connection, t: Tables, release_id: str | None, state: str, envelope: EventEnvelope) -> None:
    if release_id is not None:
        conn.execute(t.releases.update().where(t.releases.c.release_id == release_id)
                     .values(state=state, updated_at=envelope.recorded_at))


def district_of(conn: Connection, t: Tables, entity_id: str) -> str | None:
    """The entity's district from membership's own projection of registry.events (None: not yet known)."""
    return conn.execute(sa.select(t.entities.c.district_code).where(t.entities.c.entity_id == entity_id)).scalar()


def organization_of(conn: Connection, t: Tables, organization_id: str) -> KnownOrganization | None:
    """The organization from membership's own projection of formation.events (None: not yet known)."""
    o = t.organizations
    row = conn.execute(sa.select(o.c.mode, o.c.active, o.c.entity_ids, o.c.district_code)
                       .where(o.c.organization_id == organization_id)).first()
    if row is None:
        return None
    return KnownOrganization(organization_id, row.mode, row.active, frozenset(row.entity_ids), row.district_code)
