"""R3 review of joint organizations over HTTP on the real stack (调整优化组织设置)."""

from formation_support import member_registered, project


def test_joint_organizations_covering_too_many_units_or_too_old_are_listed(client, city, engine, producer,
                                                                          make_entity):
    district, street = "420114", "420114001"
    units = [make_entity(members=1, district=district, street=street) for _ in range(6)]
    small = [make_entity(members=2, district=district, street=street) for _ in range(2)]
    body = {"mode": "joint", "name": "联合支部", "formed_on": "2016-09-01", "grouping_basis": "region"}
    big = client.post("/organizations", json=body | {"entity_ids": units}, headers=city).json()["id"]
    young = client.post("/organizations", json=body | {"entity_ids": small}, headers=city).json()["id"]
    project(engine, producer, *[member_registered(units[0]) for _ in range(2)])  # 3 formal: could stand alone

    review = client.get("/reviews/joint", params={"district": district, "today": "2016-11-25"}, headers=city).json()
    assert review["policy"]["max_units"] == 5 and review["policy"]["max_units_reason"]
    listed = {o["organization_id"]: o for o in review["organizations"]}
    assert set(listed) >= {big} and young not in listed
    assert listed[big]["reasons"] == ["units"] and listed[big]["unit_count"] == 6
    assert listed[big]["could_stand_alone"] == [{"entity_id": units[0], "formal_members": 3,
                                                "member_source": "membership"}]

    a_year_on = client.get("/reviews/joint", params={"district": district, "today": "2017-09-02"},
                           headers=city).json()
    listed = {o["organization_id"]: o for o in a_year_on["organizations"]}
    assert listed[big]["reasons"] == ["units", "age"] and listed[young]["reasons"] == ["age"]
    assert listed[young]["age_days"] == 366
