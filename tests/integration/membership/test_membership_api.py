"""Membership through its HTTP API on the real PostgreSQL (R5, R13, auth, idempotency)."""

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from membership_support import new_id_number, token
from membership.domain.calendar import anniversary, half_month
from platform_core.reference.city_time import local_date


def found(client, headers, entity_id, organization_id=None, standing="formal", admitted_on="2005-07-01",
          number=None, name="李四", **extra):
    body = {"name": name, "id_number": number or new_id_number(), "standing": standing,
            "admitted_on": admitted_on, "entity_id": entity_id, "organization_id": organization_id}
    return client.post("/members/found", json=body, headers=headers | extra.get("headers", {}))


def entity_counts(client, entity_id):
    rows = client.get("/counts/entities", params={"entity_id": entity_id}, headers=token("inspector")).json()
    return {k: rows[0][k] for k in ("formal", "probationary", "total")} if rows else {"formal": 0, "probationary": 0,
                                                                                      "total": 0}


def org_counts(client, organization_id):
    rows = client.get("/counts/organizations", params={"organization_id": organization_id},
                      headers=token("inspector")).json()
    return rows[0] if rows else {"formal": 0, "probationary": 0, "total": 0, "functional": 0}


# -- registering -----------------------------------------------------------------
def test_found_member_is_registered_and_counted(client, place, organization):
    entity = place()
    organization = organization(entity)
    response = found(client, token("district_org", "420102"), entity, organization)
    assert response.status_code == 201, response.text
    member_id = response.json()["member_id"]
    assert response.json()["events"][0]["type"] == "MemberRegistered"
    assert entity_counts(client, entity) == {"formal": 1, "probationary": 0, "total": 1}
    assert org_counts(client, organization)["formal"] == 1
    member = client.get(f"/members/{member_id}", headers=token("inspector")).json()
    assert member["district_code"] == "420102" and member["organization_id"] == organization


def test_the_same_person_twice_is_409_whatever_the_way(client, ids, city, organization):
    number = new_id_number()
    first = found(client, city, ids.entity(), number=number)
    assert first.status_code == 201
    again = found(client, city, ids.entity(), number=number.lower() if number.endswith("X") else number)
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "id_number" and first.json()["member_id"] in again.json()["message"]
    assert number not in again.text
    entity = ids.entity()
    developed = client.post("/members/developed", headers=city, json={
        "name": "王五", "id_number": number, "admitted_on": "2016-09-01", "entity_id": entity,
        "organization_id": organization(entity)})
    assert developed.status_code == 409


def test_a_duplicate_names_no_member_of_another_district(client, place):
    """A guessed identity number must not yield another district's member id (no oracle)."""
    number = new_id_number()
    first = found(client, token("district_org", "420102"), place("420102"), number=number)
    assert first.status_code == 201
    member_id = first.json()["member_id"]
    elsewhere = found(client, token("district_org", "420103"), place("420103"), number=number)
    assert elsewhere.status_code == 409 and elsewhere.json()["field"] == "id_number"
    assert member_id not in elsewhere.text and "member-" not in elsewhere.text
    own = found(client, token("district_org", "420102"), place("420102"), number=number)
    assert own.status_code == 409 and member_id in own.json()["message"]


def test_hidden_member_is_revealed_once(client, ids, place, organization):
    entity = place()
    organization = organization(entity)
    headers = token("district_org", "420102")
    member_id = found(client, headers, entity, None).json()["member_id"]
    assert org_counts(client, organization)["total"] == 0 and entity_counts(client, entity)["total"] == 1
    revealed = client.post(f"/members/{member_id}/reveal", json={"organization_id": organization}, headers=headers)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["events"][0]["type"] == "MemberRevealed"
    assert org_counts(client, organization)["total"] == 1 and entity_counts(client, entity)["total"] == 1
    again = client.post(f"/members/{member_id}/reveal", json={"organization_id": ids.organization()}, headers=headers)
    assert again.status_code == 422 and again.json()["rule"] == "R13"


def test_developed_member_is_confirmed_exactly_one_year_later(client, ids, city, organization):
    today = local_date(datetime.now(timezone.utc))
    on_time = today.replace(year=today.year - 1) if (today.month, today.day) != (2, 29) else date(today.year - 1, 2, 28)
    assert anniversary(on_time) <= today
    too_recent = on_time + timedelta(days=1) if anniversary(on_time) == today else today
    members = {}
    for admitted in (on_time, too_recent):
        entity = ids.entity()
        response = client.post("/members/developed", headers=city, json={
            "name": "赵六", "id_number": new_id_number(), "admitted_on": admitted.isoformat(),
            "entity_id": entity, "organization_id": organization(entity)})
        assert response.status_code == 201, response.text
        members[admitted] = response.json()["member_id"]
    early = client.post(f"/members/{members[too_recent]}/confirm", headers=city)
    assert early.status_code == 422 and early.json()["rule"] == "R13"
    assert "at the earliest" in early.json()["message"]
    confirmed = client.post(f"/members/{members[on_time]}/confirm", headers=city)
    assert confirmed.status_code == 200, confirmed.text
    assert client.get(f"/members/{members[on_time]}", headers=city).json()["standing"] == "formal"


def test_developed_member_must_not_be_formal_nor_future(client, ids, city):
    future = (local_date(datetime.now(timezone.utc)) + timedelta(days=2)).isoformat()
    response = client.post("/members/developed", headers=city, json={
        "name": "赵六", "id_number": new_id_number(), "admitted_on": future, "entity_id": ids.entity(),
        "organization_id": ids.organization()})
    assert response.status_code == 422 and response.json()["field"] == "admitted_on"


def test_recruited_member_counts_as_recruited_in_its_district_and_period(client, place, city):
    entity = place("420106")
    period = half_month(local_date(datetime.now(timezone.utc)))
    before = client.get("/counts/growth", params={"district_code": "420106", "period": period}, headers=city).json()
    response = client.post("/members/recruited", headers=city, json={
        "name": "孙七", "id_number": new_id_number(), "standing": "formal", "admitted_on": "2001-07-01",
        "entity_id": entity, "organization_id": None})
    assert response.status_code == 201 and response.json()["events"][0]["type"] == "MemberRecruited"
    after = client.get("/counts/growth", params={"district_code": "420106", "period": period}, headers=city).json()
    recruited_before = before[0]["recruited"] if before else 0
    assert after[0]["recruited"] == recruited_before + 1


# -- transfer ---------------------------------------------------------------------
def test_transfer_within_a_district_is_one_command(client, place, organization):
    source_entity, target_entity = place("420102"), place("420102")
    source, target = organization(source_entity), organization(target_entity)
    headers = token("district_org", "420102")
    member_id = found(client, headers, source_entity, source, standing="probationary",
                      admitted_on=(date.today() - timedelta(days=30)).isoformat()).json()["member_id"]
    response = client.post(f"/members/{member_id}/transfer", headers=headers, json={
        "from_organization_id": source, "to_organization_id": target, "to_entity_id": target_entity})
    assert response.status_code == 200, response.text
    assert [e["type"] for e in response.json()["events"]] == ["MemberTransferred"]
    assert org_counts(client, source)["total"] == 0 and org_counts(client, target)["probationary"] == 1
    assert entity_counts(client, source_entity)["total"] == 0 and entity_counts(client, target_entity)["total"] == 1


def test_stale_transfer_is_409(client, ids, city, organization):
    entity = ids.entity()
    source = organization(entity)
    member_id = found(client, city, entity, source).json()["member_id"]
    body = {"from_organization_id": source, "to_organization_id": organization(entity), "to_entity_id": entity,
            "expected_version": 1}
    assert client.post(f"/members/{member_id}/transfer", json=body, headers=city).status_code == 200
    second = dict(body, to_organization_id=organization(entity))
    response = client.post(f"/members/{member_id}/transfer", json=second, headers=city)
    assert response.status_code == 409 and response.json()["field"] == "expected_version"
    second.pop("expected_version")
    response = client.post(f"/members/{member_id}/transfer", json=second, headers=city)
    assert response.status_code == 409 and response.json()["field"] == "from_organization_id"


# -- functional membership (R5) ----------------------------------------------------------
def test_functional_member_is_counted_once(client, ids, place, city, organization):
    entity = place("420111")
    primary, functional = organization(entity), organization(ids.entity(), mode="functional")
    member_id = found(client, city, entity, primary).json()["member_id"]
    districts_before = {r["district_code"]: r["total"] for r in client.get("/counts/districts", headers=city).json()}
    added = client.post(f"/members/{member_id}/functional", json={"organization_id": functional}, headers=city)
    assert added.status_code == 200 and added.json()["events"][0]["type"] == "FunctionalMembershipAdded"
    assert org_counts(client, primary)["total"] == 1
    assert org_counts(client, functional) == {"organization_id": functional, "formal": 0, "probationary": 0,
                                              "total": 0, "functional": 1}
    districts_after = {r["district_code"]: r["total"] for r in client.get("/counts/districts", headers=city).json()}
    assert districts_after["420111"] == districts_before["420111"]
    listed = client.get("/members", params={"organization_id": functional}, headers=city).json()
    assert [m["member_id"] for m in listed] == [member_id]
    assert listed[0]["functional_organization_ids"] == [functional]
    again = client.post(f"/members/{member_id}/functional", json={"organization_id": functional}, headers=city)
    assert again.status_code == 422 and again.json()["rule"] == "R5"
    removed = client.delete(f"/members/{member_id}/functional/{functional}", headers=city)
    assert removed.status_code == 200 and org_counts(client, functional)["functional"] == 0


# -- leaving -------------------------------------------------------------------------------
def test_member_who_left_is_no_longer_counted(client, ids, city, organization):
    entity = ids.entity()
    organization, functional = organization(entity), organization(ids.entity(), mode="functional")
    member_id = found(client, city, entity, organization).json()["member_id"]
    client.post(f"/members/{member_id}/functional", json={"organization_id": functional}, headers=city)
    left = client.post(f"/members/{member_id}/leave", json={"reason": "death"}, headers=city)
    assert left.status_code == 200 and left.json()["events"][0]["type"] == "MemberLeft"
    assert entity_counts(client, entity)["total"] == 0 and org_counts(client, organization)["total"] == 0
    assert org_counts(client, functional)["functional"] == 0
    assert client.get(f"/members/{member_id}", headers=city).json()["active"] is False
    again = client.post(f"/members/{member_id}/leave", json={"reason": "left"}, headers=city)
    assert again.status_code == 422 and "has left" in again.json()["message"]


# -- idempotency -----------------------------------------------------------------------------
def test_repeated_command_returns_the_first_result_and_writes_nothing(client, ids, city, organization):
    organization_of = organization
    key = {"Idempotency-Key": f"found-{ids.entity()}"}
    entity = ids.entity()
    body = {"name": "周八", "id_number": new_id_number(), "standing": "formal", "admitted_on": "2003-03-03",
            "entity_id": entity, "organization_id": organization(entity)}
    first = client.post("/members/found", json=body, headers=city | key)
    second = client.post("/members/found", json=body, headers=city | key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
    engine = client.app.state.engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM membership.events WHERE stream_id = :s"),
                            {"s": first.json()["member_id"]}).scalar() == 1
    changed = client.post("/members/found", json=body | {"standing": "probationary"}, headers=city | key)
    assert changed.status_code == 409 and changed.json()["error"] == "idempotency_key_reused"
    member_id, organization = first.json()["member_id"], body["organization_id"]
    move = {"from_organization_id": organization, "to_organization_id": organization_of(entity),
            "to_entity_id": body["entity_id"]}
    moved = [client.post(f"/members/{member_id}/transfer", json=move, headers=city | {"Idempotency-Key": key[
        "Idempotency-Key"] + "-t"}) for _ in range(2)]
    assert [r.status_code for r in moved] == [200, 200] and moved[0].json() == moved[1].json()


# -- departments ------------------------------------------------------------------------------
def test_writes_outside_permission_or_territory_are_refused_and_recorded(client, place, ids):
    entity = place("420102")
    for outsider in (token("civil_affairs", user="refused-ca"), token("inspector", user="refused-in"),
                     token("district_org", "420103", user="refused-do")):
        response = found(client, outsider, entity, ids.organization())
        assert response.status_code == 403, response.text
        assert response.json()["field"] == "Authorization"
    with client.app.state.engine.connect() as conn:
        users = set(conn.execute(sa.text(
            "SELECT user_name FROM membership.refused_commands WHERE user_name LIKE 'refused-%'")).scalars())
    assert {"refused-ca", "refused-in", "refused-do"} <= users
    assert client.post("/members/found", json={}).status_code == 401


def test_district_department_waits_for_an_unknown_entity(client, ids):
    response = found(client, token("district_org", "420102"), ids.entity())
    assert response.status_code == 409 and response.json()["error"] == "not_yet_projected"
    assert response.json()["field"] == "entity_id" and int(response.headers["Retry-After"]) >= 1


# -- districts resolved from registry.events ------------------------------------------------
def test_member_of_an_unknown_entity_moves_from_unknown_to_its_district(client, ids, city, engine, producer,
                                                                        organization):
    from membership_support import entity_registered, project_entities

    entity = ids.entity()
    member_id = found(client, city, entity, organization(entity)).json()["member_id"]
    assert client.get(f"/members/{member_id}", headers=city).json()["district_code"] == "unknown"
    assert client.get("/counts/entities", params={"entity_id": entity, "district_code": "unknown"},
                      headers=city).json()[0]["total"] == 1
    project_entities(engine, producer, entity_registered(entity, "420115"))
    assert client.get(f"/members/{member_id}", headers=city).json()["district_code"] == "420115"
    rows = client.get("/counts/entities", params={"district_code": "420115", "entity_id": entity},
                      headers=city).json()
    assert rows == [{"entity_id": entity, "district_code": "420115", "formal": 1, "probationary": 0, "total": 1}]


def test_invalid_identity_numbers_are_422_without_echo(client, ids, city):
    number = new_id_number()
    wrong_check = number[:17] + ("1" if number[17] != "1" else "2")
    for bad in (wrong_check, number + "0", number[:17], [number], {"n": number}, int(number[:17]),
                number[:6] + "19991399" + number[14:]):
        body = {"name": "郑十一", "id_number": bad, "standing": "formal", "admitted_on": "2005-07-01",
                "entity_id": ids.entity()}
        response = client.post("/members/found", json=body, headers=city)
        assert response.status_code == 422, response.text
        assert response.json()["field"].startswith("id_number")
        assert number[:17] not in response.text and "郑十一" not in response.text
