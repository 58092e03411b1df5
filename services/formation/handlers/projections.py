"""Formation's projections of registry.events, membership.events and reporting.events.

Formation never reads another service's database: it learns the baseline, kinds and
locations from registry.events, member counts from membership.events and the latest
signed audit checkpoint (the spot-check seed) from reporting.events.

Member counts (docs/formation.md): each member is one row (entity, standing, active).
Found/developed/recruited add a row; revealed, transfers and changes of workplace move it
to the named entity (members are counted where they work); confirmation makes it formal;
leaving deactivates it. Functional memberships (R5), releases awaiting acceptance and
personal-data reads never touch it, so a member is counted once, at one entity.
"""

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope

from ..adapters.tables import Tables

ADDED = ("MemberRegistered", "MemberDeveloped", "MemberRecruited")
PROFILE_COLUMNS = {"formal_members": "declared_formal", "probationary_members": "declared_probationary",
                   "industry": "industry", "employees": "employees", "above_scale": "above_scale",
                   "party_organization": "declared_organization",
                   "public_sector_staffed": "public_sector_staffed"}


def upstream_projection(t: Tables) -> Callable[[Connection, list[EventEnvelope]], None]:
    """Batch handler for registry.events and membership.events (one consumer group)."""

    def handle(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        for envelope in envelopes:
            apply_upstream(conn, t, envelope)

    return handle


def checkpoint_projection(t: Tables) -> Callable[[Connection, list[EventEnvelope]], None]:
    def handle(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        rows = [{"checkpoint_id": e.payload["checkpoint_id"], "origin": e.payload["origin"],
                 "tree_size": e.payload["tree_size"], "root_hash": e.payload["root_hash"],
                 "signed_at": e.payload["signed_at"], "recorded_at": e.recorded_at}
                for e in envelopes if e.type == "CheckpointSigned"]
        if rows:
            conn.execute(pg_insert(t.checkpoints).values(rows).on_conflict_do_nothing())

    return handle


def apply_upstream(conn: Connection, t: Tables, envelope: EventEnvelope) -> None:
    handler = _HANDLERS.get(envelope.type)
    if handler is not None:
        handler(conn, t, envelope.payload)


def _registered(conn: Connection, t: Tables, p: dict) -> None:
    pending = conn.execute(sa.delete(t.pending).where(t.pending.c.entity_id == p["entity_id"])
                           .returning(t.pending.c.ledger_unit)).scalar()
    row = {"entity_id": p["entity_id"], "name": p["name"], "kind": p["kind"], "subtype": p["subtype"],
           "level": p.get("level"), "supervising_department": p.get("supervising_department"),
           "district_code": p["district_code"], "street_code": p.get("street_code"), "industry": p["industry"],
           "declared_formal": p["formal_members"], "declared_probationary": p["probationary_members"],
           "employees": p.get("employees") or 0, "above_scale": bool(p.get("above_scale")),
           "declared_organization": p.get("party_organization") or "none",
           "public_sector_staffed": p.get("public_sector_staffed")}
    statement = pg_insert(t.entities).values(**row, approved=pending is not None, ledger_unit=pending, flags=[])
    conn.execute(statement.on_conflict_do_update(index_elements=[t.entities.c.entity_id],
                                                 set_={k: statement.excluded[k] for k in row if k != "entity_id"}))


def _profile(conn: Connection, t: Tables, p: dict) -> None:
    values = {PROFILE_COLUMNS[name]: p[name] for name in p["changed"] if name in PROFILE_COLUMNS}
    if values:
        conn.execute(sa.update(t.entities).where(t.entities.c.entity_id == p["entity_id"]).values(**values))


def _flagged(conn: Connection, t: Tables, p: dict) -> None:
    flags = t.entities.c.flags
    conn.execute(sa.update(t.entities).where(t.entities.c.entity_id == p["entity_id"])
                 .values(flags=sa.func.array_append(sa.func.array_remove(flags, p["flag"]), p["flag"])))


def _flag_cleared(conn: Connection, t: Tables, p: dict) -> None:
    conn.execute(sa.update(t.entities).where(t.entities.c.entity_id == p["entity_id"])
                 .values(flags=sa.func.array_remove(t.entities.c.flags, p["flag"])))


def _approved(conn: Connection, t: Tables, p: dict) -> None:
    ids = list(p["entity_ids"])
    if not ids:
        return
    found = {r[0] for r in conn.execute(sa.update(t.entities).where(t.entities.c.entity_id.in_(ids))
                                        .values(approved=True, ledger_unit=p["unit"])
                                        .returning(t.entities.c.entity_id))}
    missing = [{"entity_id": e, "ledger_unit": p["unit"]} for e in ids if e not in found]
    if missing:
        statement = pg_insert(t.pending).values(missing)
        conn.execute(statement.on_conflict_do_update(index_elements=[t.pending.c.entity_id],
                                                     set_={"ledger_unit": statement.excluded.ledger_unit}))


def _counted(conn: Connection, t: Tables, *entity_ids: str) -> None:
    conn.execute(pg_insert(t.counted).values([{"entity_id": e} for e in entity_ids]).on_conflict_do_nothing())


def _member_added(conn: Connection, t: Tables, p: dict) -> None:
    statement = pg_insert(t.members).values(member_id=p["member_id"], entity_id=p["entity_id"],
                                            standing=p["standing"], active=True)
    conn.execute(statement.on_conflict_do_nothing())
    _counted(conn, t, p["entity_id"])


def _member_moved(entity_key: str, *also: str):
    def move(conn: Connection, t: Tables, p: dict) -> None:
        conn.execute(sa.update(t.members).where(t.members.c.member_id == p["member_id"])
                     .values(entity_id=p[entity_key]))
        _counted(conn, t, p[entity_key], *(p[k] for k in also))
    return move


def _confirmed(conn: Connection, t: Tables, p: dict) -> None:
    conn.execute(sa.update(t.members).where(t.members.c.member_id == p["member_id"]).values(standing="formal"))


def _left(conn: Connection, t: Tables, p: dict) -> None:
    conn.execute(sa.update(t.members).where(t.members.c.member_id == p["member_id"]).values(active=False))
    _counted(conn, t, p["entity_id"])


_HANDLERS = {
    "EntityRegistered": _registered, "EntityProfileUpdated": _profile, "EntityFlagged": _flagged,
    "EntityFlagCleared": _flag_cleared, "LedgerApproved": _approved,
    **{name: _member_added for name in ADDED},
    "MemberRevealed": _member_moved("entity_id"),
    "MemberTransferred": _member_moved("to_entity_id", "from_entity_id"),
    "MemberWorkplaceChanged": _member_moved("to_entity_id", "from_entity_id"),
    "MemberConfirmed": _confirmed, "MemberLeft": _left,
}
