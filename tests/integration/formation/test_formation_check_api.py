"""R12 over HTTP on the real stack: check windows judged on the business date, and 归口分级 of who checks."""

import sqlalchemy as sa

from formation_support import on, token

CHECK = {"passed": True}


def _standalone(client, entity_id, headers):
    response = client.post("/organizations", json={"mode": "standalone", "name": "测试党支部", "entity_ids": [entity_id],
                                                   "formed_on": "2016-09-01"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _check(client, org, day, headers, **body):
    return client.post(f"/organizations/{org}/checks", json=CHECK | {"checked_on": day} | body,
                       headers=on(day, headers))


def test_acceptance_and_look_back_windows_are_judged_on_the_business_date(client, city, district, make_entity):
    org = _standalone(client, make_entity(3), city)
    early = _check(client, org, "2016-11-20", district)
    assert early.status_code == 422, early.text
    assert early.json()["rule"] == "R12" and "2016-11-21..2016-12-05" in early.json()["message"]
    assert "2016-11-20" in early.json()["message"]
    back_dated = client.post(f"/organizations/{org}/checks", json=CHECK | {"checked_on": "2016-11-20"},
                             headers=on("2016-11-21", district))
    assert back_dated.status_code == 422 and back_dated.json()["field"] == "checked_on"
    assert _check(client, org, "2016-11-21", district).status_code == 201
    assert _check(client, org, "2016-12-05", district).status_code == 201
    late = _check(client, org, "2016-12-06", district)
    assert late.status_code == 422 and "2016-11-21..2016-12-05" in late.json()["message"]
    too_soon = _check(client, org, "2016-12-05", district, check_kind="look_back")
    assert too_soon.status_code == 422 and "2016-12-06..2016-12-30" in too_soon.json()["message"]
    assert _check(client, org, "2016-12-06", district, check_kind="look_back").status_code == 201
    assert _check(client, org, "2016-12-30", district, check_kind="look_back").status_code == 201
    after = _check(client, org, "2016-12-31", district, check_kind="look_back")
    assert after.status_code == 422 and after.json()["rule"] == "R12"


def test_city_level_social_organizations_are_checked_by_their_guikou(client, city, engine, make_entity):
    unsupervised = make_entity(3, kind="social_organization", subtype="social_group", level="city")
    supervised = make_entity(3, kind="social_organization", subtype="private_school", level="city",
                             supervising="education")
    org_u, org_s = _standalone(client, unsupervised, city), _standalone(client, supervised, city)
    civil, organs = token("civil_affairs"), token("city_organs_committee")
    for refused_by in (token("district_org", "420102"), organs, token("education")):
        answer = _check(client, org_u, "2016-11-25", refused_by)
        assert answer.status_code == 403, (refused_by, answer.text)
    assert "civil_affairs" in _check(client, org_u, "2016-11-25", organs).json()["message"]
    assert _check(client, org_u, "2016-11-25", civil).status_code == 201
    assert _check(client, org_s, "2016-11-25", civil).status_code == 403
    assert _check(client, org_s, "2016-11-25", organs).status_code == 201
    assert _check(client, org_s, "2016-11-26", city).status_code == 201
    with engine.connect() as conn:
        refusals = conn.execute(sa.text("SELECT count(*) FROM formation.refused_commands WHERE target = :t"),
                                {"t": org_u}).scalar()
    assert refusals >= 3  # every refused check is recorded


def test_spot_checks_draw_enterprises_inside_the_window_and_departments_record_results(client, city, make_entity):
    district_code = "420113"
    district = token("district_org", district_code)
    enterprise = make_entity(3, district=district_code, street=f"{district_code}001")
    society = make_entity(3, district=district_code, street=f"{district_code}001", kind="social_organization",
                          subtype="social_group", level="district")
    orgs = {e: _standalone(client, e, city) for e in (enterprise, society)}
    for org in orgs.values():
        assert _check(client, org, "2016-11-22", district).status_code == 201
    seed = client.get("/seed", headers=city).json()
    body = {"per_district": 1000, "districts": [district_code]} | ({} if seed["checkpoint"] else {"seed": "抽签值-0001"})
    outside = client.post("/spot-checks", json=body, headers=on("2016-12-06", city))
    assert outside.status_code == 422 and outside.json()["rule"] == "R12"
    drawn = client.post("/spot-checks", json=body, headers=on("2016-11-28", city))
    assert drawn.status_code == 201, drawn.text
    sample = {s["entity_id"] for s in client.get(f"/spot-checks/{drawn.json()['id']}", headers=city).json()["sample"]}
    assert enterprise in sample and society not in sample  # spot checks are of non-public enterprises (R12)
    result = {"organization_id": orgs[enterprise], "passed": True, "checked_on": "2016-11-29"}
    path = f"/spot-checks/{drawn.json()['id']}/results"
    assert client.post(path, json=result, headers=on("2016-11-29", district)).status_code == 403
    assert client.post(path, json=result, headers=on("2016-11-29", token("education"))).status_code == 403
    recorded = client.post(path, json=result, headers=on("2016-11-29", token("united_front")))
    assert recorded.status_code == 201, recorded.text
    checks = client.get(f"/organizations/{orgs[enterprise]}", headers=city).json()["checks"]
    assert any(c["check_kind"] == "spot_check" and c["inspector_unit"] == "united_front" for c in checks)
    late = client.post(path, json=result | {"checked_on": "2016-12-06"}, headers=on("2016-12-06", token("commerce")))
    assert late.status_code == 422 and late.json()["rule"] == "R12"
