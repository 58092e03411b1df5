"""Membership's queries: members (pseudonymous), releases, and the counts it keeps.

Every count counts a person once (R5): members by their one primary
registration; functional memberships are reported beside, never added in.
A district is resolved at query time from ``known_entities``; an entity not
yet projected from registry.events counts under ``unknown``.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import Tables

UNKNOWN_DISTRICT = "unknown"


def _district(t: Tables):
    return sa.func.coalesce(t.entities.c.district_code, UNKNOWN_DISTRICT)


def member_rows(conn: Connection, t: Tables, *, member_id: str | None = None, entity_id: str | None = None,
                organization_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    m, i = t.members, t.identities
    query = (sa.select(m, _district(t).label("district_code"),
                       sa.func.coalesce(i.c.erased_at.is_not(None), False).label("personal_data_erased"))
             .outerjoin(t.entities, t.entities.c.entity_id == m.c.entity_id)
             .outerjoin(i, i.c.member_id == m.c.member_id)
             .order_by(m.c.member_id).limit(limit))
    if member_id is not None:
        query = query.where(m.c.member_id == member_id)
    if entity_id is not None:
        query = query.where(m.c.entity_id == entity_id, m.c.active)
    if organization_id is not None:
        functional = sa.select(t.functional.c.member_id).where(t.functional.c.organization_id == organization_id)
        query = query.where(sa.or_(m.c.organization_id == organization_id, m.c.member_id.in_(functional)), m.c.active)
    rows = [dict(row._mapping) for row in conn.execute(query)]
    ids = [row["member_id"] for row in rows]
    functional: dict[str, list[str]] = {}
    if ids:
        for row in conn.execute(sa.select(t.functional).where(t.functional.c.member_id.in_(ids))
                                .order_by(t.functional.c.organization_id)):
            functional.setdefault(row.member_id, []).append(row.organization_id)
    releases = {r["member_id"]: r for r in release_rows(conn, t, member_ids=ids)} if ids else {}
    for row in rows:
        row["functional_organization_ids"] = functional.get(row["member_id"], [])
        row["pending_release"] = releases.get(row["member_id"])
    return rows


def release_rows(conn: Connection, t: Tables, *, member_ids: list[str] | None = None,
                 to_prefix: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Pending releases (转出 awaiting 转入), of some members or into a territory (a division code prefix)."""
    r = t.releases
    query = sa.select(r).where(r.c.state == "pending").order_by(r.c.expires_on, r.c.release_id).limit(limit)
    if member_ids is not None:
        query = query.where(r.c.member_id.in_(member_ids))
    if to_prefix is not None:
        query = query.where(r.c.to_district_code.startswith(to_prefix, autoescape=True))
    return [dict(row._mapping) for row in conn.execute(query)]


def _standing_counts(m: sa.Table):
    return (sa.func.count().filter(m.c.standing == "formal").label("formal"),
            sa.func.count().filter(m.c.standing == "probationary").label("probationary"),
            sa.func.count().label("total"))


def counts_by_entity(conn: Connection, t: Tables, entity_id: str | None = None,
                     district_code: str | None = None) -> list[dict[str, Any]]:
    """Formal and probationary members working at each entity (registered or hidden)."""
    m = t.members
    query = (sa.select(m.c.entity_id, _district(t).label("district_code"), *_standing_counts(m))
             .outerjoin(t.entities, t.entities.c.entity_id == m.c.entity_id).where(m.c.active)
             .group_by(m.c.entity_id, t.entities.c.district_code).order_by(m.c.entity_id))
    if entity_id is not None:
        query = query.where(m.c.entity_id == entity_id)
    if district_code is not None:
        query = query.where(_district(t) == district_code)
    return [dict(row._mapping) for row in conn.execute(query)]


def counts_by_organization(conn: Connection, t: Tables, organization_id: str | None = None) -> list[dict[str, Any]]:
    """Members by primary registration, with functional members beside (not added to the total, R5)."""
    m, f = t.members, t.functional
    primary = (sa.select(m.c.organization_id, *_standing_counts(m))
               .where(m.c.active, m.c.organization_id.is_not(None)).group_by(m.c.organization_id))
    functional = (sa.select(f.c.organization_id, sa.func.count().label("functional"))
                  .join(m, m.c.member_id == f.c.member_id).where(m.c.active).group_by(f.c.organization_id))
    if organization_id is not None:
        primary = primary.where(m.c.organization_id == organization_id)
        functional = functional.where(f.c.organization_id == organization_id)
    rows: dict[str, dict[str, Any]] = {}
    for row in conn.execute(primary):
        rows[row.organization_id] = dict(row._mapping) | {"functional": 0}
    for row in conn.execute(functional):
        rows.setdefault(row.organization_id, {"organization_id": row.organization_id, "formal": 0,
                                              "probationary": 0, "total": 0})["functional"] = row.functional
    return [rows[key] for key in sorted(rows)]


def counts_by_district(conn: Connection, t: Tables) -> list[dict[str, Any]]:
    """Each active member once, in the district of the entity where they work."""
    m = t.members
    query = (sa.select(_district(t).label("district_code"), *_standing_counts(m))
             .outerjoin(t.entities, t.entities.c.entity_id == m.c.entity_id).where(m.c.active)
             .group_by(_district(t)).order_by(_district(t)))
    return [dict(row._mapping) for row in conn.execute(query)]


def growth_counts(conn: Connection, t: Tables, district_code: str | None = None,
                  period: str | None = None) -> list[dict[str, Any]]:
    """Members found, revealed, developed and recruited (四个一批) by district and half-month."""
    g = t.growth
    ways = ("found", "revealed", "developed", "recruited")
    query = (sa.select(_district(t).label("district_code"), g.c.period,
                       *(sa.func.count(sa.distinct(g.c.member_id)).filter(g.c.way == way).label(way) for way in ways))
             .outerjoin(t.entities, t.entities.c.entity_id == g.c.entity_id)
             .group_by(_district(t), g.c.period).order_by(_district(t), g.c.period))
    if district_code is not None:
        query = query.where(_district(t) == district_code)
    if period is not None:
        query = query.where(g.c.period == period)
    return [dict(row._mapping) for row in conn.execute(query)]
