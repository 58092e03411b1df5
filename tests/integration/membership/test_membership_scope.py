"""Scope on the real service: transfers across districts in two steps (release, accept), changes of workplace,
organizations that must exist, and personal data read with a recorded reason (R5, R13; docs/membership.md)."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from membership.domain.model import Accept
from membership.handlers.commands import MembershipCommands
from membership_support import formation_event, new_id_number, project_organizations, token
from platform_core.errors import RuleViolation

A, B = "420102", "420103"


def found(client, headers, entity_id, organization_id=None, **extra):
    body = {"name": "李四", "id_number": new_id_number(), "standing": "formal", "admitted_on": "2005-07-01",
            "entity_id": entity_id, "organization_id": organization_id, **extra}
    return client.post("/members/found", json=body, headers=headers)


def counted(client, entity_id) -> int:
    rows = client.get("/counts/entities", params={"entity_id": entity_id}, headers=token("inspector")).json()
    return rows[0]["total"] if rows else 0


def member(client, member_id) -> dict:
    return client.get(f"/members/{member_id}", headers=token("inspector")).json()


def read_personal(client, member_id, headers, reason="组织关系转接，核对身份"):
    return client.post(f"/members/{member_id}/personal-data", json={"reason": reason}, headers=headers)


def refused(client, department: str) -> list[str]:
    with client.app.state.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT permission FROM membership.refused_commands WHERE department = :d"
                                         " ORDER BY id"), {"d": department}).scalars())


def test_another_district_can_neither_pull_a_member_nor_read_them(client, place, organization):
    """The attack of the HMAC era: a district moved another district's member into its own entity (either side
    sufficed) and then read the name and identity number."""
    home, theirs = place(A), place(B)
    home_org, their_org = organization(home), organization(theirs, district_code=B)
    member_id = found(client, token("district_org", A), home, home_org).json()["member_id"]
    intruder = token("district_org", B, user="intruder-b")
    pull = {"from_organization_id": home_org, "to_organization_id": their_org, "to_entity_id": theirs}
    assert client.post(f"/members/{member_id}/transfer", json=pull, headers=intruder).status_code == 403
    assert client.post(f"/members/{member_id}/workplace", json={"entity_id": theirs}, headers=intruder).status_code == 403
    release = {"to_entity_id": theirs, "to_organization_id": their_org, "from_organization_id": home_org}
    assert client.post(f"/members/{member_id}/release", json=release, headers=intruder).status_code == 403
    personal = read_personal(client, member_id, intruder)
    assert personal.status_code == 403 and "李四" not in personal.text
    assert counted(client, home) == 1 and member(client, member_id)["entity_id"] == home
    with client.app.state.engine.connect() as conn:
        users = set(conn.execute(sa.text("SELECT user_name FROM membership.refused_commands WHERE"
                                         " user_name = 'intruder-b'")).scalars())
    assert users == {"intruder-b"}


def test_a_transfer_across_districts_is_released_by_the_source_and_accepted_by_the_target(client, place,
                                                                                         organization):
    source_entity, target_entity = place(A), place(B)
    source, target = organization(source_entity), organization(target_entity, district_code=B)
    a, b = token("district_org", A), token("district_org", B)
    member_id = found(client, a, source_entity, source).json()["member_id"]
    one_step = client.post(f"/members/{member_id}/transfer", headers=a, json={
        "from_organization_id": source, "to_organization_id": target, "to_entity_id": target_entity})
    assert one_step.status_code == 403 and "/release" in one_step.json()["message"]

    released = client.post(f"/members/{member_id}/release", headers=a, json={
        "from_organization_id": source, "to_organization_id": target, "to_entity_id": target_entity})
    assert released.status_code == 200, released.text
    release_id = released.json()["release_id"]
    assert [e["type"] for e in released.json()["events"]] == ["MemberReleased"]
    # R13: still one registration, counted at the source, until the target accepts
    assert counted(client, source_entity) == 1 and counted(client, target_entity) == 0
    pending = member(client, member_id)
    assert (pending["organization_id"], pending["pending_release"]["release_id"]) == (source, release_id)
    assert release_id in [r["release_id"] for r in client.get("/releases/incoming", headers=b).json()]
    assert release_id not in [r["release_id"] for r in client.get("/releases/incoming", headers=a).json()]

    assert client.post(f"/members/{member_id}/accept", json={"release_id": release_id}, headers=a).status_code == 403
    accepted = client.post(f"/members/{member_id}/accept", json={"release_id": release_id}, headers=b)
    assert accepted.status_code == 200, accepted.text
    assert [e["type"] for e in accepted.json()["events"]] == ["MemberTransferred"]
    assert counted(client, source_entity) == 0 and counted(client, target_entity) == 1
    moved = member(client, member_id)
    assert (moved["organization_id"], moved["district_code"], moved["pending_release"]) == (target, B, None)
    assert read_personal(client, member_id, a).status_code == 403  # the source no longer covers the member
    assert read_personal(client, member_id, b).status_code == 200
    assert client.post(f"/members/{member_id}/accept", json={"release_id": release_id},
                       headers=b).status_code == 404


def test_a_release_is_withdrawn_or_expires(client, place, organization):
    source_entity, target_entity = place(A), place(B)
    source, target = organization(source_entity), organization(target_entity, district_code=B)
    a, b = token("district_org", A), token("district_org", B)
    member_id = found(client, a, source_entity, source).json()["member_id"]
    body = {"from_organization_id": source, "to_organization_id": target, "to_entity_id": target_entity}
    first = client.post(f"/members/{member_id}/release", headers=a, json=body).json()["release_id"]
    again = client.post(f"/members/{member_id}/release", headers=a, json=body)
    assert again.status_code == 422 and again.json()["field"] == "release_id"
    assert client.post(f"/members/{member_id}/release/withdraw", headers=b,
                       json={"release_id": first, "reason": "x"}).status_code == 403
    withdrawn = client.post(f"/members/{member_id}/release/withdraw", headers=a,
                            json={"release_id": first, "reason": "对方单位暂不接收"})
    assert withdrawn.status_code == 200 and withdrawn.json()["events"][0]["type"] == "MemberReleaseWithdrawn"
    assert client.post(f"/members/{member_id}/accept", json={"release_id": first}, headers=b).status_code == 404

    second = client.post(f"/members/{member_id}/release", headers=a, json=body | {"valid_days": 5}).json()["release_id"]
    svc = client.app.state.membership
    later = MembershipCommands(svc.commands.store, svc.tables, svc.commands.vault,
                               clock=lambda: datetime.now(timezone.utc) + timedelta(days=6))
    from platform_core.auth import Principal

    target_department = Principal(f"district_org:{B}", "district_org", "late", B)
    try:
        later.accept(target_department, member_id, Accept(second))
        raise AssertionError("an expired release was accepted")
    except RuleViolation as refusal:
        assert "expired" in refusal.message and refusal.rule == "R13"
    assert counted(client, source_entity) == 1


def test_a_change_of_workplace_moves_the_count_not_the_registration(client, place, organization):
    first, second, elsewhere = place(A), place(A), place(B)
    registration = organization(first)
    a, b = token("district_org", A), token("district_org", B)
    member_id = found(client, a, first, registration).json()["member_id"]
    changed = client.post(f"/members/{member_id}/workplace", json={"entity_id": second}, headers=a)
    assert changed.status_code == 200 and changed.json()["events"][0]["type"] == "MemberWorkplaceChanged"
    assert (counted(client, first), counted(client, second)) == (0, 1)
    assert member(client, member_id)["organization_id"] == registration
    assert client.post(f"/members/{member_id}/workplace", json={"entity_id": elsewhere}, headers=a).status_code == 403
    release_id = client.post(f"/members/{member_id}/release", json={"to_entity_id": elsewhere},
                             headers=a).json()["release_id"]
    accepted = client.post(f"/members/{member_id}/accept", json={"release_id": release_id}, headers=b)
    assert accepted.status_code == 200 and accepted.json()["events"][0]["type"] == "MemberWorkplaceChanged"
    moved = member(client, member_id)
    assert (moved["entity_id"], moved["district_code"], moved["organization_id"]) == (elsewhere, B, registration)


def test_commands_name_organizations_that_exist_are_active_and_cover_the_entity(client, place, organization, ids,
                                                                                 engine, producer):
    a = token("district_org", A)
    entity, other = place(A), place(A)
    unknown = ids.organization()
    waiting = found(client, a, entity, unknown)
    assert waiting.status_code == 409 and waiting.json()["error"] == "not_yet_projected"
    assert waiting.json()["field"] == "organization_id" and int(waiting.headers["Retry-After"]) >= 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM membership.members WHERE entity_id = :e"),
                            {"e": entity}).scalar() == 0  # nothing written
    from membership_support import organization_formed

    project_organizations(engine, producer, organization_formed(unknown, [entity]))
    assert found(client, a, entity, unknown).status_code == 201  # the same command, once formation's event arrived

    elsewhere = found(client, a, other, unknown)
    assert elsewhere.status_code == 422 and elsewhere.json()["rule"] == "R13"
    assert "does not cover" in elsewhere.json()["message"]
    joint = organization(entity, other, mode="joint")
    project_organizations(engine, producer, formation_event("OrganizationRestructured", joint, {
        "mode": "joint", "entity_ids": [entity], "remaining_entity_ids": [other], "restructured_on": "2016-10-01",
        "new_organization_id": ids.organization(), "reason": "单独组建"}))
    assert found(client, a, entity, joint).json()["rule"] == "R13"  # split out: no longer covered
    assert found(client, a, other, joint).status_code == 201
    project_organizations(engine, producer, formation_event("OrganizationDissolved", joint, {
        "mode": "joint", "entity_ids": [other], "dissolved_on": "2016-11-01", "reason": "企业停业"}))
    dissolved = found(client, a, other, joint)
    assert dissolved.status_code == 422 and "dissolved" in dissolved.json()["message"]
    functional = found(client, a, other, organization(other, mode="functional"))
    assert functional.status_code == 422 and functional.json()["rule"] == "R5"


def test_a_registration_outside_the_campaign_is_named_and_transferred_in(client, place, organization):
    a = token("district_org", A)
    entity = place(A)
    created = found(client, a, entity, outside_organization="武汉市江岸区某社区党委")
    assert created.status_code == 201, created.text
    member_id = created.json()["member_id"]
    shown = member(client, member_id)
    assert (shown["organization_id"], shown["outside_organization"]) == (None, "武汉市江岸区某社区党委")
    both = found(client, a, entity, organization(entity), outside_organization="某单位党支部")
    assert both.status_code == 422
    joined = client.post(f"/members/{member_id}/transfer", headers=a, json={
        "from_organization_id": None, "to_organization_id": organization(entity), "to_entity_id": entity})
    assert joined.status_code == 200, joined.text
    assert member(client, member_id)["outside_organization"] is None


def test_personal_data_needs_scope_over_the_current_entity_and_a_recorded_reason(client, place, organization):
    entity = place(A)
    number = new_id_number()
    a = token("district_org", A, user="reader-a")
    member_id = found(client, a, entity, organization(entity), id_number=number, name="吴九").json()["member_id"]
    assert "personal" not in member(client, member_id)
    listed = client.get("/members", params={"entity_id": entity}, headers=a)
    assert number not in listed.text and "吴九" not in listed.text
    read = read_personal(client, member_id, a, reason="组织关系转接 核对身份")
    assert read.status_code == 200, read.text
    assert (read.json()["name"], read.json()["id_number"]) == ("吴九", number)
    with client.app.state.engine.connect() as conn:
        event = conn.execute(sa.text("SELECT type, actor, payload, canonical FROM membership.events"
                                     " WHERE stream_id = :s"), {"s": read.json()["access_id"]}).one()
    assert event.type == "PersonalDataAccessed"
    assert event.actor == {"department": f"district_org:{A}", "user": "reader-a"}
    assert event.payload["member_id"] == member_id and event.payload["reason"] == "组织关系转接 核对身份"
    assert event.payload["district_code"] == A and number.encode() not in bytes(event.canonical)
    assert read_personal(client, member_id, token("city_org")).status_code == 200
    for outsider in (token("inspector", user="reader-in"), token("civil_affairs", user="reader-ca"),
                     token("district_org", B, user="reader-b")):
        response = read_personal(client, member_id, outsider)
        assert response.status_code == 403 and number not in response.text and "吴九" not in response.text
    assert "read.personal" in refused(client, f"district_org:{B}")
    for reason in ("", "看看", f"核对{number}"):
        response = read_personal(client, member_id, a, reason=reason)
        assert response.status_code == 422 and response.json()["field"] == "reason" and number not in response.text
