"""Departments' verification lists through the HTTP API on the real PostgreSQL (三(二) 应报尽报、一个不漏)."""

import pytest
import sqlalchemy as sa
from registry_api_support import count, enterprise, make_uscc, token
from registry_sheets import csv_bytes, xlsx

pytestmark = pytest.mark.integration

CITY, COMMERCE, FEDERATION = token("city_org"), token("commerce"), token("federation_commerce")
HEADERS = ["序号", "企业名称", "统一社会信用代码", "所属区"]


def register(client, **overrides) -> dict:
    response = client.post("/entities", json=enterprise(**overrides), headers=CITY)
    assert response.status_code == 201, response.text
    return response.json()


def upload(client, rows, headers, name="名单.xlsx", key=None, columns=HEADERS, content: bytes | None = None):
    extra = {"Idempotency-Key": key} if key else {}
    if content is None:
        content = xlsx(rows, headers=columns, title="名单") if name.endswith(".xlsx") else csv_bytes(rows, columns)
    return client.post("/verification-lists", files={"file": (name, content, "application/octet-stream")},
                       headers=headers | extra)


def list_events(engine, schema, list_id) -> list[dict]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(
            f"SELECT payload FROM {schema}.events WHERE type = 'VerificationListImported'"
            " AND payload->>'list_id' = :l ORDER BY stream_version"), {"l": list_id})]


def test_commerce_list_against_the_registry_three_differences(client, engine, schema):
    foreign = register(client, subtype="foreign_invested")
    private = register(client, subtype="private")
    unlisted = register(client, subtype="hmt_invested")
    unknown = make_uscc()
    rows = [[1, foreign["name"], foreign["uscc"], "江岸区"], [2, private["name"], private["uscc"], "江岸区"],
            [3, "武汉未登记外资有限公司", unknown, "江岸区"]]
    imported = upload(client, rows, COMMERCE)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["status"] == "imported" and body["rows"] == 3 and body["list_id"].startswith("verificationlist-")
    (event,) = list_events(engine, schema, body["list_id"])
    assert event["department"] == "commerce" and event["entity_ids"] == [foreign["entity_id"]]
    assert event["registered_differently"] == [private["entity_id"]] and event["not_in_registry"] == [unknown]
    assert (event["matched_count"], event["registered_differently_count"], event["not_in_registry_count"]) == (1, 1, 1)

    report = client.get("/verification-lists/commerce", headers=CITY).json()
    found = report["differences"]
    assert [r["uscc"] for r in found["not_in_registry"]] == [unknown]
    assert [r["entity_id"] for r in found["registered_differently"]] == [private["entity_id"]]
    assert unlisted["entity_id"] in {r["entity_id"] for r in found["missing_from_list"]}  # 港澳台投资: commerce's
    assert foreign["entity_id"] not in {r["entity_id"] for r in found["missing_from_list"]}

    later = register(client, uscc=unknown, subtype="foreign_invested")  # the survey catches up (一个不漏)
    again = client.get("/verification-lists/commerce", params={"difference": "not_in_registry"}, headers=CITY).json()
    assert again["not_in_registry_count"] == 0 and list(again["differences"]) == ["not_in_registry"]
    assert later["entity_id"] not in {r["entity_id"] for r in client.get(
        "/verification-lists/commerce", headers=CITY).json()["differences"]["missing_from_list"]}


def test_a_bad_list_is_rejected_whole_with_a_row_report_and_the_current_list_stays(client, engine, schema):
    good = register(client, subtype="foreign_invested")
    first = upload(client, [[1, good["name"], good["uscc"], "江岸区"]], COMMERCE, name="名单.csv").json()
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    events_before = count(engine, schema, "events")
    rejected = upload(client, [[1, "甲公司", wrong, ""], [2, "乙公司", good["uscc"], ""], [3, "丙公司", good["uscc"], ""],
                               [4, "", make_uscc(), ""]], COMMERCE)
    assert rejected.status_code == 422 and rejected.json()["error"] == "import_rejected"
    rows = {(e["row"], e["column"]) for e in rejected.json()["errors"]}
    assert {(3, "统一社会信用代码"), (5, "统一社会信用代码"), (6, "企业名称")} <= rows  # sheet rows, columns as headed
    assert count(engine, schema, "events") == events_before  # nothing written
    report = client.get(rejected.json()["errors_url"], headers=COMMERCE)
    assert report.status_code == 200 and "校验位" in report.content.decode("utf-8-sig")
    assert client.get("/verification-lists/commerce", headers=CITY).json()["list_id"] == first["list_id"]


def test_the_federation_marks_member_enterprises_in_the_events(client, engine, schema):
    member, other = register(client), register(client)
    columns = ["会员企业名称", "统一社会信用代码", "是否会员"]
    rows = [[member["name"], member["uscc"], "是"], [other["name"], other["uscc"], "否"], ["未登记会员企业", make_uscc(), ""]]
    imported = upload(client, rows, FEDERATION, columns=columns)
    assert imported.status_code == 201, imported.text
    (event,) = list_events(engine, schema, imported.json()["list_id"])
    assert event["member_entity_ids"] == [member["entity_id"]] and event["member_count"] == 2
    assert sorted(event["entity_ids"]) == sorted([member["entity_id"], other["entity_id"]])
    second = upload(client, rows[:1], FEDERATION, columns=columns)  # a new list replaces the earlier one
    (replacing,) = list_events(engine, schema, second.json()["list_id"])
    assert replacing["submission"] == event["submission"] + 1
    summary = {s["department"]: s for s in client.get("/verification-lists", headers=CITY).json()}
    assert summary["federation_commerce"]["row_count"] == 1


def test_who_keeps_lists_and_idempotent_uploads(client, engine, schema):
    rows = [[1, "某公司", make_uscc(), ""]]
    assert upload(client, rows, token("education")).status_code == 403  # verifies, but keeps no list
    assert upload(client, rows, CITY).status_code == 403
    with engine.connect() as conn:
        refused = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.refused_commands"
                                       " WHERE target = 'verification-list'")).scalar()
    assert refused >= 2
    same_file = xlsx(rows, headers=HEADERS, title="规模以上企业名单")  # an XLSX carries its creation time: built once
    first = upload(client, rows, token("economy_it"), key="economy-list-1", content=same_file)
    again = upload(client, rows, token("economy_it"), key="economy-list-1", content=same_file)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["list_id"] == first.json()["list_id"]
    other_file = upload(client, rows, token("economy_it"), key="economy-list-1", name="名单.csv")
    assert other_file.status_code == 409 and other_file.json()["field"] == "Idempotency-Key"
    assert client.get("/verification-lists/civil_affairs", headers=CITY).status_code == 404  # not submitted yet


def test_a_department_limited_to_a_territory_lists_that_territory_only(client, engine, schema):
    inside = register(client, street_code="420111002")  # 洪山区
    outside = register(client, street_code="420102002")  # 江岸区
    hongshan_market = token("market_regulation", "420111")
    refused = upload(client, [[1, inside["name"], inside["uscc"], ""], [2, outside["name"], outside["uscc"], ""]],
                     hongshan_market)
    assert refused.status_code == 422
    assert [(e["row"], "超出本部门范围" in e["reason"]) for e in refused.json()["errors"]] == [(4, True)]
    imported = upload(client, [[1, inside["name"], inside["uscc"], ""]], hongshan_market)
    assert imported.status_code == 201, imported.text
    report = client.get("/verification-lists/market_regulation", params={"territory": "420111"}, headers=CITY).json()
    assert report["list_key"] == "verification-market_regulation-420111"
    missing = {r["entity_id"] for r in report["differences"]["missing_from_list"]}
    assert outside["entity_id"] not in missing  # another district's enterprises are not this list's
    no_file = client.post("/verification-lists", headers=hongshan_market)
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"  # no file: 422, not a 500
    # the department is authorized before its body is read: one that keeps no list is refused whatever it sends
    assert client.post("/verification-lists", headers=CITY).status_code == 403
    assert client.get("/verification-lists").status_code == 401
