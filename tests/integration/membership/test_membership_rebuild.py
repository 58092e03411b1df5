"""Membership's read tables equal a replay of its event store."""

import uuid
from datetime import date

import sqlalchemy as sa

from membership.adapters.personal_data import PersonalDataVault
from membership.adapters.tables import tables
from membership.domain.model import Accept, ChangeWorkplace, Leave, Registration, Reveal, Transfer, Withdraw
from membership.handlers.commands import MembershipCommands, Person
from membership.handlers.entity_projection import entity_projection
from membership.handlers.organization_projection import organization_projection
from membership.handlers.personal_data import PersonalDataReads
from membership.handlers.rebuild import rebuild_read_tables
from membership_support import entity_registered, new_id_number, organization_formed
from platform_core.auth import Principal
from platform_core.contracts import event_types_for
from platform_core.db import migrate
from platform_core.event_store import EventStore
from platform_core.service import service_migrations

CITY = Principal(department="city_org", kind="city_org", user="rebuild")


def snapshot(engine, schema):
    with engine.connect() as conn:
        return {table: sorted(map(tuple, conn.execute(sa.text(f"SELECT {columns} FROM {schema}.{table}"))))
                for table, columns in (("members", "member_id, standing, active, way, admitted_on, entity_id,"
                                                   " organization_id, outside_organization, version"),
                                       ("functional_memberships", "member_id, organization_id"),
                                       ("member_growth", "event_id, member_id, way, entity_id, period"),
                                       ("member_releases", "release_id, member_id, moves, to_entity_id, state"))}


def test_rebuild_gives_the_same_read_tables(engine, schema, topic):
    migrate(engine, schema, service_migrations("membership"))
    store = EventStore(engine, schema, topic, event_types_for("membership"))
    bound = tables(schema)
    vault = PersonalDataVault("rebuild-test-key-0123456789abcdef")
    commands = MembershipCommands(store, bound, vault)
    project = organization_projection(schema)

    def org(*entities: str, mode: str = "standalone") -> str:
        organization_id = f"organization-{uuid.uuid4()}"
        with engine.begin() as conn:
            project(conn, organization_formed(organization_id, list(entities), mode))
        return organization_id

    def ent() -> str:  # known to membership: a release names the target's district
        entity_id = f"entity-{uuid.uuid4()}"
        with engine.begin() as conn:
            entity_projection(schema)(conn, entity_registered(entity_id, "420102"))
        return entity_id

    added = []
    for way, registered in (("found", False), ("found", True), ("developed", True), ("recruited", False)):
        standing = "probationary" if way == "developed" else "formal"
        entity = ent()
        organization = org(entity) if registered else None
        result = commands.add_member(CITY, way, Person("测试", new_id_number()), standing, date(2010, 1, 1), entity,
                                     Registration(organization))
        added.append((result.events[0].stream_id, organization, entity))
    (hidden, _, hidden_entity), (registered, primary, _), (developed, _, _), (recruited, _, _) = added
    commands.reveal(CITY, hidden, Reveal(Registration(outside_organization="某社区党委")))
    target = ent()
    commands.transfer(CITY, registered, Transfer(primary, Registration(org(target)), target))
    commands.add_functional(CITY, registered, org(ent(), mode="functional"))
    commands.add_functional(CITY, developed, org(ent(), mode="functional"))
    commands.confirm(CITY, developed)
    commands.leave(CITY, developed, Leave("left"))
    commands.change_workplace(CITY, hidden, ChangeWorkplace(ent()))
    withdrawn = commands.release(CITY, recruited, ent(), Registration(), None, 30).events[0].payload["release_id"]
    commands.withdraw(CITY, recruited, Withdraw(withdrawn, "撤回"))
    accepted = commands.release(CITY, recruited, ent(), Registration(), None, 30).events[0].payload["release_id"]
    commands.accept(CITY, recruited, Accept(accepted))
    PersonalDataReads(store, bound, vault).read(CITY, recruited, "重建测试核对")
    before = snapshot(engine, schema)
    assert len(before["members"]) == 4 and len(before["functional_memberships"]) == 1
    assert sorted(row[-1] for row in before["member_releases"]) == ["accepted", "withdrawn"]
    assert rebuild_read_tables(store, bound) == 16  # 15 member events and one PersonalDataAccessed
    assert snapshot(engine, schema) == before
