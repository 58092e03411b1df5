"""Formation through its HTTP API against the real PostgreSQL (R3-R6, R8, R9, R12)."""

import uuid

import sqlalchemy as sa

from formation_support import envelope, ledger_approved, member_registered, on, project, token


def _form(client, headers, mode, entity_ids, **extra):
    body = {"mode": mode, "name": "测试党支部", "entity_ids": entity_ids, "formed_on": "2016-09-01"} | extra
    return client.post("/organizations", json=body, headers=headers)


def test_standalone_needs_three_formal_members(client, city, make_entity):
    two, three = make_entity(2), make_entity(3)
    refused = _form(client, city, "standalone", [two])
    assert refused.status_code == 422, refused.text
    assert refused.json()["rule"] == "R3" and "2 formal members" in refused.json()["message"]
    formed = _form(client, city, "standalone", [three])
    assert formed.status_code == 201, formed.text
    org = client.get(f"/organizations/{formed.json()['id']}", headers=city).json()
    assert org["mode"] == "standalone" and org["entity_ids"] == [three]
    assert org["affiliation"]["kind"] == "territorial"  # R8: non-public -> territorial
    again = _form(client, city, "standalone", [three])
    assert again.status_code == 422 and "already has its own organization" in again.json()["message"]


def test_joint_rules_name_the_rule(client, city, make_entity):
    a, b, big = make_entity(1), make_entity(1), make_entity(4)
    with_big = _form(client, city, "joint", [a, big], grouping_basis="region")
    assert with_big.status_code == 422
    assert with_big.json()["message"] == f"R3: entity {big} has 4 formal members and must form its own organization"
    too_few = _form(client, city, "joint", [a, b], grouping_basis="region")
    assert too_few.status_code == 422 and too_few.json()["rule"] == "R4" and "2 formal members" in too_few.text
    c = make_entity(1)
    no_basis = _form(client, city, "joint", [a, b, c])
    assert no_basis.status_code == 422 and no_basis.json()["field"] == "grouping_basis"
    formed = _form(client, city, "joint", [a, b, c], grouping_basis="park", grouping_detail="光谷软件园")
    assert formed.status_code == 201, formed.text
    event = formed.json()["events"][0]
    assert event["type"] == "OrganizationFormed"
    covered = client.get(f"/entities/{a}", headers=city).json()
    assert covered["organization_covered"] and covered["task"]["state"] == "organization_formed"


def test_membership_count_overrides_the_survey_figure(client, city, engine, producer, make_entity):
    declared_five_but_one_member = make_entity(5, members=1)
    view = client.get(f"/entities/{declared_five_but_one_member}", headers=city).json()
    assert view["formal"] == 1 and view["source"] == "membership" and view["declared_formal"] == 5
    refused = _form(client, city, "standalone", [declared_five_but_one_member])
    assert refused.status_code == 422 and refused.json()["rule"] == "R3"
    project(engine, producer, *[member_registered(declared_five_but_one_member) for _ in range(2)])
    assert _form(client, city, "standalone", [declared_five_but_one_member]).status_code == 201


def test_member_counts_follow_workplace_changes_not_releases(client, city, engine, producer, make_entity):
    """Members are counted where they work: a change of workplace moves the count, a release awaiting the
    target's acceptance moves nothing (R13), its acceptance does."""
    source, target = make_entity(3, members=3), make_entity(0, members=0)
    member_id = f"member-{uuid.uuid4()}"
    project(engine, producer, member_registered(source, member_id=member_id))
    release_id = f"release-{uuid.uuid4()}"
    project(engine, producer, envelope("MemberReleased", member_id, {
        "member_id": member_id, "release_id": release_id, "moves": "workplace", "from_entity_id": source,
        "to_entity_id": target, "to_district_code": "420103", "released_on": "2016-10-01",
        "expires_on": "2016-10-31"}, version=2))
    assert client.get(f"/entities/{source}", headers=city).json()["formal"] == 4
    project(engine, producer, envelope("MemberWorkplaceChanged", member_id, {
        "member_id": member_id, "from_entity_id": source, "to_entity_id": target, "release_id": release_id},
        version=3))
    assert client.get(f"/entities/{source}", headers=city).json()["formal"] == 3
    assert client.get(f"/entities/{target}", headers=city).json()["formal"] == 1


def test_functional_only_for_social_organizations_staffed_by_public_employees(client, city, engine, producer,
                                                                             make_entity):
    company = make_entity(0)
    refused = _form(client, city, "functional", [company])
    assert refused.status_code == 422 and refused.json()["rule"] == "R5"
    unknown_staffing = make_entity(0, kind="social_organization", subtype="social_group", level="city")
    refused = _form(client, city, "functional", [unknown_staffing])
    assert refused.status_code == 422 and refused.json()["rule"] == "R5" and "机关事业单位人员" in refused.text
    society = make_entity(0, kind="social_organization", subtype="social_group", level="city",
                          public_sector_staffed=True)
    formed = _form(client, city, "functional", [society])
    assert formed.status_code == 201, formed.text
    org = client.get(f"/organizations/{formed.json()['id']}", headers=city).json()
    assert org["affiliation"] == {"kind": "civil_affairs", "unit": "civil_affairs", "name": "民政局"}  # R8
    # a functional organization establishes the entity's organization (the plan's 二(四)4): its task moves on
    covered = client.get(f"/entities/{society}", headers=city).json()
    assert covered["organization_covered"] and covered["task"]["state"] == "organization_formed"
    # the survey fact corrected (EntityProfileUpdated, as registry publishes it): R5 now holds
    project(engine, producer, envelope("EntityProfileUpdated", unknown_staffing, {
        "entity_id": unknown_staffing, "changed": ["public_sector_staffed"], "public_sector_staffed": True}, 2))
    assert _form(client, city, "functional", [unknown_staffing]).status_code == 201


def test_restructure_fixes_an_r3_violation(client, city, engine, producer, make_entity):
    grower, b, c = make_entity(members=2), make_entity(members=2), make_entity(members=1)
    joint = _form(client, city, "joint", [grower, b, c], grouping_basis="industry").json()["id"]
    project(engine, producer, member_registered(grower))  # now 3 formal members: must have its own (R3)
    listed = client.get("/violations/r3", params={"district": "420102"}, headers=city).json()
    assert any(v["entity_id"] == grower and v["joint_organization_id"] == joint for v in listed)
    response = client.post(f"/organizations/{joint}/restructure", json={"entity_id": grower, "name": "单独支部"},
                           headers=city)
    assert response.status_code == 201, response.text
    assert [e["type"] for e in response.json()["events"]] == ["OrganizationRestructured", "OrganizationFormed"]
    listed = client.get("/violations/r3", params={"district": "420102"}, headers=city).json()
    assert all(v["entity_id"] != grower for v in listed)
    assert client.get(f"/organizations/{joint}", headers=city).json()["entity_ids"] == sorted([b, c])
    # the remaining two now hold 3 formal members; splitting b would leave c alone with 1 (R4)
    project(engine, producer, member_registered(b))
    refused = client.post(f"/organizations/{joint}/restructure", json={"entity_id": b, "name": "x"}, headers=city)
    assert refused.status_code == 422 and refused.json()["rule"] == "R4"


def test_check_closes_and_failure_reopens(client, city, district, make_entity):
    entity = make_entity(3)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    failed_without_findings = client.post(f"/organizations/{org}/checks",
                                          json={"passed": False, "checked_on": "2016-11-22"},
                                          headers=on("2016-11-22", district))
    assert failed_without_findings.status_code == 422 and failed_without_findings.json()["field"] == "findings"
    passed = client.post(f"/organizations/{org}/checks", json={"passed": True, "checked_on": "2016-11-22"},
                         headers=on("2016-11-22", district))
    assert passed.status_code == 201, passed.text
    assert [e["type"] for e in passed.json()["events"]] == ["OrganizationChecked", "OrganizationClosed"]
    assert passed.json()["events"][1]["stream_id"] == "task-" + entity.removeprefix("entity-")
    assert client.get(f"/entities/{entity}", headers=city).json()["task"]["state"] == "closed"
    failed = client.post(f"/organizations/{org}/checks", json={"passed": False, "checked_on": "2016-12-08",
                                                               "check_kind": "look_back", "findings": ["无活动记录"]},
                         headers=on("2016-12-08", city))  # 督查核实: the city looks back at any organization
    assert [e["type"] for e in failed.json()["events"]] == ["OrganizationChecked", "TaskReopened"]
    task = client.get(f"/entities/{entity}", headers=city).json()["task"]
    assert task["state"] == "organization_formed" and task["reopened"] == 1


def test_check_before_baseline_leaves_task_checked_until_closed(client, city, district, engine, producer,
                                                                 make_entity):
    entity = make_entity(3, baseline=False)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    passed = client.post(f"/organizations/{org}/checks", json={"passed": True, "checked_on": "2016-11-22"},
                         headers=on("2016-11-22", district))
    assert [e["type"] for e in passed.json()["events"]] == ["OrganizationChecked"]
    assert client.get(f"/entities/{entity}", headers=city).json()["task"]["state"] == "checked"
    refused = client.post(f"/tasks/{entity}/close", headers=on("2016-11-23", district))
    assert refused.status_code == 422 and refused.json()["rule"] == "R1"
    project(engine, producer, ledger_approved("street-420102001", [entity]))
    assert client.post(f"/tasks/{entity}/close", headers=on("2016-11-23", city)).status_code == 403  # R12
    closed = client.post(f"/tasks/{entity}/close", headers=on("2016-11-23", district))
    assert closed.status_code == 200 and closed.json()["events"][0]["type"] == "OrganizationClosed"


def test_dissolve_removes_coverage_and_reopens(client, city, district, make_entity):
    entity = make_entity(3)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    client.post(f"/organizations/{org}/checks", json={"passed": True, "checked_on": "2016-11-22"},
                headers=on("2016-11-22", district))
    dissolved = client.post(f"/organizations/{org}/dissolve", json={"reason": "企业注销", "dissolved_on": "2016-12-01"},
                            headers=city)
    assert [e["type"] for e in dissolved.json()["events"]] == ["OrganizationDissolved", "TaskReopened"]
    view = client.get(f"/entities/{entity}", headers=city).json()
    assert not view["organization_covered"] and view["task"]["state"] == "open"
    again = client.post(f"/organizations/{org}/dissolve", json={"reason": "x"}, headers=city)
    assert again.status_code == 422


def test_affiliation_changes_with_a_reason(client, city, make_entity):
    entity = make_entity(3)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    missing_reason = client.post(f"/organizations/{org}/affiliation", json={"kind": "territorial", "unit": "420102"},
                                 headers=city)
    assert missing_reason.status_code == 422
    changed = client.post(f"/organizations/{org}/affiliation",
                          json={"kind": "territorial", "unit": "420102", "reason": "街道无党工委，隶属区委"}, headers=city)
    assert changed.status_code == 200, changed.text
    assert client.get(f"/organizations/{org}", headers=city).json()["affiliation"]["unit"] == "420102"


def test_permissions_and_territory(client, make_entity):
    entity = make_entity(3)
    other_district = token("district_org", "420103")
    refused = _form(client, other_district, "standalone", [entity])
    assert refused.status_code == 403
    assert _form(client, token("mass_org"), "standalone", [entity]).status_code == 403
    society = make_entity(3, kind="social_organization", subtype="social_group", level="district")
    own = token("district_org", "420102")
    org = _form(client, own, "standalone", [society]).json()["id"]
    check = {"passed": True, "checked_on": "2016-11-22"}
    assert client.post(f"/organizations/{org}/checks", json=check,
                       headers=on("2016-11-22", other_district)).status_code == 403  # not its territory
    assert client.post(f"/organizations/{org}/checks", json=check,
                       headers=on("2016-11-22", token("city_org"))).status_code == 403  # district-level: 归口 to 420102
    checked = client.post(f"/organizations/{org}/checks", json=check, headers=on("2016-11-22", own))
    assert checked.status_code == 201, checked.text  # R12: district-level social organizations by their district


def test_work_coverage(client, city, make_entity):
    entity = make_entity(0)
    instructor = client.post("/work-coverage/instructors", json={
        "name": "李四", "role": "instructor", "entity_ids": [entity], "assigned_on": "2016-10-01"}, headers=city)
    assert instructor.status_code == 201, instructor.text
    assert "李四" not in instructor.text
    other = make_entity(0)
    refused = client.post("/work-coverage/mass-organizations", json={
        "entity_id": other, "kind": "trade_union", "name": "工会", "formed_on": "2016-10-01"}, headers=city)
    assert refused.status_code == 403  # mass organizations are recorded by 工青妇
    mass = client.post("/work-coverage/mass-organizations", json={
        "entity_id": other, "kind": "trade_union", "name": "工会", "formed_on": "2016-10-01"}, headers=token("mass_org"))
    assert mass.status_code == 201, mass.text
    for e in (entity, other):
        assert client.get(f"/entities/{e}", headers=city).json()["work_covered"] is True


def test_board_by_unit_and_state_overdue_first(client, city, make_entity):
    street = "420102002"
    unit = f"street-{street}"
    open_task, formed_task = make_entity(0, street=street), make_entity(3, street=street)
    _form(client, city, "standalone", [formed_task])
    board = client.get("/tasks", params={"unit": unit, "today": "2016-11-25"}, headers=city).json()
    states = {t["entity_id"]: t for t in board["tasks"]}
    assert states[open_task]["state"] == "open" and states[open_task]["overdue"] is True  # due 11-20
    assert states[formed_task]["state"] == "organization_formed" and states[formed_task]["overdue"] is False
    assert str(states[formed_task]["deadline"]) == "2016-12-05"
    overdue_flags = [t["overdue"] for t in board["tasks"]]
    assert overdue_flags == sorted(overdue_flags, reverse=True)
    only_open = client.get("/tasks", params={"unit": unit, "state": "open"}, headers=city).json()
    assert all(t["state"] == "open" for t in only_open["tasks"]) and open_task in {t["entity_id"] for t in
                                                                                   only_open["tasks"]}


def test_joint_suggestions(client, city, make_entity):
    street = f"420102{uuid.uuid4().int % 90 + 10:03d}"  # a street code of its own for this run
    ids = [make_entity(n, street=street, industry="retail") for n in (1, 1, 1)] + [make_entity(2, street=street)]
    found = client.get("/suggestions/joint", params={"district": "420102", "street": street}, headers=city).json()
    group = next(g for g in found["groups"] if ids[0] in g["entity_ids"])
    assert set(ids[:3]) <= set(group["entity_ids"]) and group["formal_members"] >= 3 and group["reason"]
    placed = {e for g in found["groups"] for e in g["entity_ids"]}
    assert ids[3] in placed  # 2 formal members alone: joins its street's group rather than staying uncovered


def test_idempotent_formation(client, city, make_entity):
    entity = make_entity(3)
    headers = city | {"Idempotency-Key": str(uuid.uuid4())}
    first = _form(client, headers, "standalone", [entity])
    second = _form(client, headers, "standalone", [entity])
    assert second.status_code == 201 and second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()


def test_read_tables_match_the_events(client, city, engine, make_entity):
    entity = make_entity(3)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    with engine.connect() as conn:
        payload = conn.execute(sa.text("SELECT payload FROM formation.events WHERE stream_id = :s"),
                               {"s": org}).scalar()
    assert payload["entity_ids"] == [entity] and payload["mode"] == "standalone"
    assert payload["organization_id"] == org and payload["formal_members"] == {entity: 3}


def test_idempotent_restructure_replays_every_stream(client, city, engine, producer, make_entity):
    grower, b, c = make_entity(members=2), make_entity(members=2), make_entity(members=1)
    joint = _form(client, city, "joint", [grower, b, c], grouping_basis="industry").json()["id"]
    project(engine, producer, member_registered(grower))
    headers = city | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"entity_id": grower, "name": "单独支部", "restructured_on": "2016-10-10"}
    first = client.post(f"/organizations/{joint}/restructure", json=body, headers=headers)
    second = client.post(f"/organizations/{joint}/restructure", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
    assert len({e["stream_id"] for e in first.json()["events"]}) == 2


def test_concurrent_formations_of_one_entity_one_wins(client, city, make_entity):
    from concurrent.futures import ThreadPoolExecutor

    a, b, c = make_entity(1), make_entity(1), make_entity(1)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _form(client, city, "joint", [a, b, c], grouping_basis="market"), range(4)))
    assert sorted(r.status_code for r in answers) == [201, 422, 422, 422]


def test_spot_check_over_http_is_recomputable(client, city, make_entity):
    import hashlib

    entity = make_entity(3)
    org = _form(client, city, "standalone", [entity]).json()["id"]
    client.post(f"/organizations/{org}/checks", json={"passed": True, "checked_on": "2016-11-22"},
                headers=on("2016-11-22", token("district_org", "420102")))
    seed = client.get("/seed", headers=city).json()
    body = {"per_district": 2, "districts": ["420102"]} | ({} if seed["checkpoint"] else {"seed": "公开抽签值-2016-11-21"})
    assert client.post("/spot-checks", json=body,
                       headers=on("2016-11-25", token("district_org", "420102"))).status_code == 403
    drawn = client.post("/spot-checks", json=body, headers=on("2016-11-25", city))
    assert drawn.status_code == 201, drawn.text

    with client.app.state.formation.engine.connect() as conn:
        payloads = [r[0] for r in conn.execute(sa.text(
            "SELECT payload FROM formation.events WHERE stream_id = :s ORDER BY stream_version"),
            {"s": drawn.json()["id"]})]
    population = [e for p in payloads for e in p["population"]]
    assert entity in population
    first = payloads[0]
    ranked = sorted(population, key=lambda e: (hashlib.sha256(
        f"{first['seed']}\x1f420102\x1f{e}".encode()).hexdigest(), e))
    assert first["sample"] == ranked[:2]
    listed = client.get(f"/spot-checks/{drawn.json()['id']}", headers=city).json()
    assert [s["entity_id"] for s in listed["sample"]] == first["sample"]
