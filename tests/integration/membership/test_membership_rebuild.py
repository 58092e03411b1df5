"""Membership's read tables equal a replay of its event store."""

import uuid
from datetime import date

import sqlalchemy as sa

from membership.adapters.personal_data import PersonalDataVault
from membership.adapters.tables import tables
from membership.domain.model import Leave, Reveal, Transfer
from membership.handlers.commands import MembershipCommands, Person
from membership.handlers.rebuild import rebuild_read_tables
from membership_support import new_id_number
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
                                                   " organization_id, version"),
                                       ("functional_memberships", "member_id, organization_id"),
                                       ("member_growth", "event_id, member_id, way, entity_id, period"))}


def test_rebuild_gives_the_same_read_tables(engine, schema, topic):
    migrate(engine, schema, service_migrations("membership"))
    store = EventStore(engine, schema, topic, event_types_for("membership"))
    bound = tables(schema)
    commands = MembershipCommands(store, bound, PersonalDataVault("rebuild-test-key-0123456789abcdef"))
    org = lambda: f"organization-{uuid.uuid4()}"  # noqa: E731
    ent = lambda: f"entity-{uuid.uuid4()}"  # noqa: E731
    added = []
    for way, organization in (("found", None), ("found", org()), ("developed", org()), ("recruited", None)):
        standing = "probationary" if way == "developed" else "formal"
        result = commands.add_member(CITY, way, Person("测试", new_id_number()), standing, date(2010, 1, 1), ent(),
                                     organization)
        added.append((result.events[0].stream_id, organization))
    (hidden, _), (registered, primary), (developed, _), _ = added
    commands.reveal(CITY, hidden, Reveal(org()))
    commands.transfer(CITY, registered, Transfer(primary, org(), ent()))
    commands.add_functional(CITY, registered, org())
    commands.add_functional(CITY, developed, org())
    commands.confirm(CITY, developed)
    commands.leave(CITY, developed, Leave("left"))
    before = snapshot(engine, schema)
    assert len(before["members"]) == 4 and len(before["functional_memberships"]) == 1
    assert rebuild_read_tables(store, bound) == 10
    assert snapshot(engine, schema) == before
