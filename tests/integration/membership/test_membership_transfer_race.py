"""Two concurrent transfers of the same member: exactly one wins, counts stay consistent (R13)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import sqlalchemy as sa

from membership.domain.model import Registration, Transfer
from membership.handlers.commands import Person
from membership_support import new_id_number, token
from platform_core.auth import Principal
from platform_core.errors import ConcurrencyConflict

CITY = Principal(department="city_org", kind="city_org", user="race")


def registered(commands, ids, organization) -> tuple[str, str, str]:
    entity = ids.entity()
    source = organization(entity)
    result = commands.add_member(CITY, "found", Person("钱十", new_id_number()), "formal", date(2004, 7, 1),
                                 entity, Registration(source))
    return result.events[0].stream_id, entity, source


def race(commands, member_id, source, targets):
    barrier = threading.Barrier(len(targets))

    def attempt(target):
        organization, entity = target
        barrier.wait()
        try:
            return commands.transfer(CITY, member_id, Transfer(source, Registration(organization), entity))
        except ConcurrencyConflict as conflict:
            return conflict

    with ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(attempt, targets))


def test_exactly_one_of_two_concurrent_transfers_wins(client, ids, organization):
    svc = client.app.state.membership
    for _ in range(8):
        member_id, entity, source = registered(svc.commands, ids, organization)
        targets = [(organization(e), e) for e in (ids.entity(), ids.entity())]
        outcomes = race(svc.commands, member_id, source, targets)
        winners = [o for o in outcomes if not isinstance(o, ConcurrencyConflict)]
        assert len(winners) == 1 and len(outcomes) == 2, outcomes
        winner = winners[0].events[0].payload
        with svc.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT type, payload FROM membership.events WHERE stream_id = :s ORDER BY stream_version"),
                {"s": member_id}).all()
            registration = conn.execute(sa.text(
                "SELECT organization_id, entity_id FROM membership.members WHERE member_id = :s"),
                {"s": member_id}).one()
        assert [r.type for r in rows] == ["MemberRegistered", "MemberTransferred"]
        assert tuple(registration) == (winner["to_organization_id"], winner["to_entity_id"])
        counted = {organization: client.get("/counts/organizations", params={"organization_id": organization},
                                            headers=token("inspector")).json()
                   for organization in (source, *(t[0] for t in targets))}
        assert sum(rows[0]["total"] for rows in counted.values() if rows) == 1
        assert counted[winner["to_organization_id"]][0]["total"] == 1


def test_concurrent_transfers_through_http_one_200_one_409(client, ids, organization):
    city = token("city_org")
    svc = client.app.state.membership
    member_id, entity, source = registered(svc.commands, ids, organization)
    targets = iter([organization(entity), organization(entity)])
    barrier = threading.Barrier(2)

    def attempt(_):
        body = {"from_organization_id": source, "to_organization_id": next(targets), "to_entity_id": entity}
        barrier.wait()
        return client.post(f"/members/{member_id}/transfer", json=body, headers=city)

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(r.status_code for r in pool.map(attempt, range(2)))
    assert statuses == [200, 409]
