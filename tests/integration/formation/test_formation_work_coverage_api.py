"""R6 over HTTP on the real stack: the four ways of work coverage, the end of an assignment, the instructor
roster, and new organizations without a first secretary or instructor."""

import sqlalchemy as sa

from formation_support import token

UNITED_FRONT, FEDERATION = token("united_front"), token("federation_commerce")


def _view(client, headers, entity_id) -> dict:
    return client.get(f"/entities/{entity_id}", headers=headers).json()


def test_investor_education_by_united_front_and_federation_work_covers(client, city, district, make_entity):
    company, society = make_entity(0), make_entity(0, kind="social_organization", subtype="social_group",
                                                   level="district")
    body = {"entity_ids": [company, society], "held_on": "2016-10-12", "topic": "出资人座谈会：支持党组织组建"}
    assert client.post("/work-coverage/investor-education", json=body, headers=district).status_code == 403
    educated = client.post("/work-coverage/investor-education", json=body, headers=UNITED_FRONT)
    assert educated.status_code == 201, educated.text
    assert [e["type"] for e in educated.json()["events"]] == ["InvestorEducationHeld"]
    view = _view(client, city, company)
    assert view["work_covered"] is True
    assert [(w["kind"], w["way_zh"]) for w in view["work_coverage"]] == [("investor_education", "出资人教育引导")]
    again = client.post("/work-coverage/investor-education", json=body | {"entity_ids": [company]}, headers=FEDERATION)
    assert again.status_code == 201
    farm = make_entity(0, kind="rural_entity", subtype="family_farm")
    refused = client.post("/work-coverage/investor-education", json=body | {"entity_ids": [farm]}, headers=FEDERATION)
    assert refused.status_code == 422 and refused.json()["rule"] == "R6"


def test_joint_member_development_work_covers(client, city, district, make_entity):
    first, second = make_entity(0), make_entity(1)
    body = {"entity_ids": [first, second], "started_on": "2016-10-15", "organization_name": "大智街道综合党委"}
    assert client.post("/work-coverage/joint-member-development", json=body, headers=UNITED_FRONT).status_code == 403
    assert client.post("/work-coverage/joint-member-development", json=body,
                       headers=token("district_org", "420103")).status_code == 403  # not its territory
    neither = client.post("/work-coverage/joint-member-development",
                          json={k: v for k, v in body.items() if k != "organization_name"}, headers=district)
    assert neither.status_code == 422 and neither.json()["field"] == "organization_id"
    started = client.post("/work-coverage/joint-member-development", json=body, headers=district)
    assert started.status_code == 201, started.text
    assert all(_view(client, city, e)["work_covered"] for e in (first, second))


def test_an_ended_assignment_no_longer_work_covers_nor_guides(client, city, district, engine, make_entity):
    loose = make_entity(0)
    members = [make_entity(1), make_entity(1), make_entity(1)]
    joint = client.post("/organizations", json={"mode": "joint", "name": "联合支部", "entity_ids": members,
                                                "formed_on": "2016-10-01", "grouping_basis": "region"}, headers=city)
    organization = joint.json()["id"]
    unguided = client.get("/work-coverage/unguided-organizations", params={"district": "420102"}, headers=city).json()
    assert organization in {o["organization_id"] for o in unguided["organizations"]}
    assigned = client.post("/work-coverage/instructors", json={
        "name": "赵六", "role": "first_secretary", "entity_ids": [loose], "organization_ids": [organization],
        "assigned_on": "2016-10-20"}, headers=district)
    assert assigned.status_code == 201, assigned.text
    assignment = assigned.json()["id"]
    unguided = client.get("/work-coverage/unguided-organizations", params={"district": "420102"}, headers=city).json()
    assert organization not in {o["organization_id"] for o in unguided["organizations"]}
    assert _view(client, city, loose)["work_covered"] is True
    assert _view(client, city, members[0])["work_covered"] is False  # organization-covered: not counted as work

    roster = {r["assignment_id"]: r for r in client.get("/work-coverage/instructors",
                                                        params={"district": "420102"}, headers=district).json()}
    row = roster[assignment]
    assert row["name"] == "赵六" and row["role_zh"] == "第一书记" and row["active"] and row["ended_on"] is None
    assert row["organization_ids"] == [organization] and set(row["entity_ids"]) == {loose, *members}
    others = {r["assignment_id"]: r for r in client.get("/work-coverage/instructors", params={"district": "420102"},
                                                        headers=token("district_org", "420103")).json()}
    assert others[assignment]["name"] is None  # another district may not read the instructor's name
    assert {r["assignment_id"]: r for r in client.get("/work-coverage/instructors", params={"district": "420102"},
                                                      headers=UNITED_FRONT).json()}[assignment]["name"] is None

    path = f"/work-coverage/instructors/{assignment}/end"
    assert client.post(path, json={"reason": "调离", "ended_on": "2016-10-19"}, headers=district).status_code == 422
    assert client.post(path, json={"reason": "调离"}, headers=token("district_org", "420103")).status_code == 403
    ended = client.post(path, json={"reason": "调离", "ended_on": "2016-11-15"}, headers=district)
    assert ended.status_code == 200, ended.text
    assert [e["type"] for e in ended.json()["events"]] == ["InstructorAssignmentEnded"]
    assert ended.json()["events"][0]["stream_id"] == assigned.json()["events"][0]["stream_id"]
    view = _view(client, city, loose)
    assert view["work_covered"] is False and view["work_coverage"][0]["until"] == "2016-11-15"
    unguided = client.get("/work-coverage/unguided-organizations", params={"district": "420102"}, headers=city).json()
    assert organization in {o["organization_id"] for o in unguided["organizations"]}
    assert client.post(path, json={"reason": "again"}, headers=district).status_code == 422
    ended_rows = client.get("/work-coverage/instructors", params={"district": "420102", "active": False},
                            headers=city).json()
    assert any(r["assignment_id"] == assignment and r["end_reason"] == "调离" for r in ended_rows)
    with engine.connect() as conn:
        payload = conn.execute(sa.text("SELECT payload FROM formation.events WHERE type = 'InstructorAssigned'"
                                       " AND payload->>'assignment_id' = :a"), {"a": assignment}).scalar()
    assert "赵六" not in str(payload)  # the name stays in formation's own table
