"""Registry commands and queries through the HTTP API, on the real PostgreSQL."""

import pytest
from registry_api_support import count, enterprise, make_uscc, token

pytestmark = pytest.mark.integration

JIANGAN = token("district_org", "420102")
HONGSHAN = token("district_org", "420111")
MARKET = token("market_regulation")
CITY = token("city_org")
CIVIL = token("civil_affairs")
INSPECTOR = token("inspector")


def register(client, headers=JIANGAN, **overrides):
    response = client.post("/entities", json=enterprise(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_register_and_read_by_id_and_code(client):
    entity = register(client)
    assert entity["entity_id"].startswith("entity-") and entity["district_code"] == "420102"
    assert not entity["in_baseline"]
    assert client.get(f"/entities/{entity['entity_id']}", headers=INSPECTOR).json() == entity  # same answer
    assert client.get(f"/entities/by-uscc/{entity['uscc'].lower()}", headers=INSPECTOR).json()["entity_id"] == \
        entity["entity_id"]
    assert client.get("/entities/entity-nope", headers=INSPECTOR).status_code == 404


def test_a_second_entity_with_the_same_code_is_409_naming_the_first(client, engine, schema):
    first = register(client)
    before = count(engine, schema, "events")
    response = client.post("/entities", json=enterprise(uscc=first["uscc"]), headers=JIANGAN)
    assert response.status_code == 409
    assert first["entity_id"] in response.json()["message"] and response.json()["field"] == "uscc"
    assert count(engine, schema, "events") == before


def test_a_wrong_check_character_is_422_naming_the_expected_one(client):
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post("/entities", json=enterprise(uscc=wrong), headers=JIANGAN)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "uscc" and body["rule"] == "GB 32100-2015" and f"应为“{code[17]}”" in body["message"]


@pytest.mark.parametrize("field,value", [("street_code", "420102999"), ("employees", -5), ("industry", "mining"),
                                         ("subtype", "state_owned"), ("name", "")])
def test_bad_fields_are_422_naming_the_field(client, field, value, engine, schema):
    before = count(engine, schema, "entities")
    response = client.post("/entities", json=enterprise(**{field: value}), headers=JIANGAN)
    assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert count(engine, schema, "entities") == before


def test_wrong_types_and_malformed_json_are_422_not_500(client):
    assert client.post("/entities", json=enterprise(employees="lots"), headers=JIANGAN).status_code == 422
    response = client.post("/entities", content=b"{not json", headers={**JIANGAN, "content-type": "application/json"})
    assert response.status_code == 422


def test_a_write_outside_the_territory_is_403_and_recorded(client, engine, schema):
    body = enterprise()
    response = client.post("/entities", json=body, headers=HONGSHAN)
    assert response.status_code == 403 and "420111" in response.json()["message"]
    assert count(engine, schema, "refused_commands", f"target = '{body['uscc']}'") == 1
    assert client.post("/entities", json=enterprise(), headers=CIVIL).status_code == 403
    assert client.post("/entities", json=enterprise(), headers={}).status_code == 401


def test_idempotent_registration_returns_the_first_result(client, engine, schema):
    body = enterprise()
    headers = {**JIANGAN, "Idempotency-Key": f"reg-{body['uscc']}"}
    first = client.post("/entities", json=body, headers=headers)
    again = client.post("/entities", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["entity_id"] == first.json()["entity_id"] and again.headers["Idempotent-Replayed"] == "true"
    assert count(engine, schema, "entities", f"uscc = '{body['uscc']}'") == 1
    other = client.post("/entities", json=enterprise(), headers=headers)
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"


def test_profile_updates_are_events_with_full_history(client):
    entity = register(client, employees=40)
    entity_id = entity["entity_id"]
    response = client.patch(f"/entities/{entity_id}", json={"employees": 60, "formal_members": 4,
                                                            "operation_status": "suspended"}, headers=JIANGAN)
    assert response.status_code == 200 and response.json()["employees"] == 60
    stale = client.patch(f"/entities/{entity_id}", json={"employees": 70, "expected_version": 1}, headers=JIANGAN)
    assert stale.status_code == 409
    assert client.patch(f"/entities/{entity_id}", json={"uscc": make_uscc()}, headers=JIANGAN).status_code == 422
    assert client.patch(f"/entities/{entity_id}", json={"employees": 61}, headers=HONGSHAN).status_code == 403
    history = client.get(f"/entities/{entity_id}/history", headers=INSPECTOR).json()
    assert [e["type"] for e in history] == ["EntityRegistered", "EntityProfileUpdated"]
    assert history[1]["payload"] == {"entity_id": entity_id, "changed": ["employees", "formal_members",
                                                                        "operation_status"],
                                     "employees": 60, "formal_members": 4, "operation_status": "suspended"}
    assert history[1]["actor"]["department"] == "district_org:420102"


def test_flags_only_by_market_regulation_and_shadow_links(client):
    original = register(client)
    copy = register(client)
    url = f"/entities/{copy['entity_id']}/flags"
    assert client.post(url, json={"flag": "shell", "reason": "空壳"}, headers=JIANGAN).status_code == 403
    missing = client.post(url, json={"flag": "shadow", "reason": "重复注册"}, headers=MARKET)
    assert missing.status_code == 422 and missing.json()["field"] == "duplicate_of"
    flagged = client.post(url, json={"flag": "shadow", "reason": "重复注册", "duplicate_of": original["entity_id"]},
                          headers=MARKET)
    assert flagged.status_code == 200 and flagged.json()["flags"] == ["shadow"]
    assert flagged.json()["duplicate_of"] == original["entity_id"]
    assert client.post(url, json={"flag": "shadow", "reason": "x", "duplicate_of": original["entity_id"]},
                       headers=MARKET).status_code == 409
    cleared = client.post(f"{url}/shadow/clear", json={"reason": "核实为分支机构"}, headers=MARKET)
    assert cleared.status_code == 200 and cleared.json()["flags"] == []
    assert client.post(f"{url}/zombie/clear", json={"reason": "x"}, headers=MARKET).status_code == 422


def test_shadow_candidates_are_listed_not_flagged(client):
    original = register(client, name="武汉长江示例物流有限公司", address="江岸区沿江大道100号")
    copy = register(client, name="武汉长江示例物流有限责任公司", address="江岸区沿江大道100号")
    open_pairs = client.get("/shadow-candidates?district=420102", headers=MARKET).json()
    pair = [c for c in open_pairs if c["entity_id"] == copy["entity_id"]]
    assert pair and pair[0]["candidate_of"] == original["entity_id"] and "地址相同" in pair[0]["reasons"]
    assert client.get(f"/entities/{copy['entity_id']}", headers=INSPECTOR).json()["flags"] == []
    dismissed = client.post("/shadow-candidates/dismiss", json={"entity_id": copy["entity_id"],
                                                                "candidate_of": original["entity_id"]}, headers=MARKET)
    assert dismissed.status_code == 204
    assert not [c for c in client.get("/shadow-candidates", headers=MARKET).json()
                if c["entity_id"] == copy["entity_id"]]


def test_ledger_return_resubmit_approve_builds_the_baseline(client):
    street = "420102005"  # this module's schema is fresh: the unit starts empty
    a = register(client, street_code=street)
    b = register(client, street_code=street)
    unit = f"/ledgers/street-{street}"
    assert client.post(f"{unit}/submit", headers=HONGSHAN).status_code == 403
    submitted = client.post(f"{unit}/submit", headers=JIANGAN)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert client.post(f"{unit}/submit", headers=JIANGAN).status_code == 409
    assert client.post(f"{unit}/approve", headers=JIANGAN).status_code == 403
    returned = client.post(f"{unit}/return", json={"reasons": ["漏报1家企业"]}, headers=CITY)
    assert returned.json()["status"] == "returned" and returned.json()["reasons"] == ["漏报1家企业"]
    c = register(client, street_code=street)
    resubmitted = client.post(f"{unit}/submit", headers=JIANGAN).json()
    assert resubmitted["submission"] == 2 and resubmitted["submitted_count"] == 3
    approved = client.post(f"{unit}/approve", headers=CITY).json()
    assert approved["status"] == "approved" and approved["approved_count"] == 3
    for entity in (a, b, c):
        assert client.get(f"/entities/{entity['entity_id']}", headers=INSPECTOR).json()["in_baseline"] is True
    # R1: a flagged entity leaves the baseline while flagged
    client.post(f"/entities/{a['entity_id']}/flags", json={"flag": "zombie", "reason": "久不运转"}, headers=MARKET)
    counts = {row["unit"]: row for row in client.get("/baseline/counts?by=street&district=420102",
                                                     headers=INSPECTOR).json()}
    assert counts[street]["approved"] == 3 and counts[street]["in_baseline"] == 2 and counts[street]["flagged"] == 1
    client.post(f"/entities/{a['entity_id']}/flags/zombie/clear", json={"reason": "恢复经营"}, headers=MARKET)
    assert client.get(f"/entities/{a['entity_id']}", headers=INSPECTOR).json()["in_baseline"] is True
    listed = client.get("/ledgers?district=420102", headers=INSPECTOR).json()
    assert any(row["unit"] == f"street-{street}" and row["status"] == "approved" for row in listed)
    found = client.get(f"/entities?street={street}&in_baseline=true", headers=INSPECTOR).json()
    assert found["total"] == 3


def test_social_organization_ledgers_by_civil_affairs_and_supervisor(client):
    social = enterprise(kind="social_organization", subtype="social_group", level="city",
                        name="武汉市示例行业协会")
    response = client.post("/entities", json=social, headers=CIVIL)
    assert response.status_code == 201, response.text
    assert client.post("/ledgers/civil-affairs/submit", headers=JIANGAN).status_code == 403
    assert client.post("/ledgers/civil-affairs/submit", headers=CIVIL).json()["submitted_count"] >= 1
    assert client.post("/ledgers/civil-affairs/approve", headers=CITY).json()["status"] == "approved"
    assert client.get(f"/entities/{response.json()['entity_id']}", headers=INSPECTOR).json()["approved_in"] == \
        "civil-affairs"
    assert client.post("/ledgers/supervisor-nobody/submit", headers=CIVIL).status_code == 422


def test_search_by_name_kind_and_flag(client):
    entity = register(client, name="武汉独一无二搜索测试有限公司")
    found = client.get("/entities", params={"name": "独一无二搜索", "kind": "non_public_enterprise"},
                       headers=INSPECTOR).json()
    assert [item["entity_id"] for item in found["items"]] == [entity["entity_id"]]
    assert client.get("/entities", params={"flag": "bogus"}, headers=INSPECTOR).status_code == 422


def test_reference_and_openapi(client):
    assert client.get("/reference/territory").json()["code"] == "420100"
    assert client.get("/reference/calendar").json()["milestones"][2]["due"] == "2016-08-26"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/entities", "/ledgers/{unit}/approve", "/imports/{form}", "/baseline/counts"} <= set(paths)


def test_concurrent_registrations_of_one_code_give_one_entity(client, engine, schema):
    from concurrent.futures import ThreadPoolExecutor

    body = enterprise()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(lambda _: client.post("/entities", json=body, headers=JIANGAN).status_code,
                                   range(4)))
    assert statuses == [201, 409, 409, 409]
    assert count(engine, schema, "entities", f"uscc = '{body['uscc']}'") == 1
    assert count(engine, schema, "events", f"payload->>'uscc' = '{body['uscc']}'") == 1
