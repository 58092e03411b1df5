"""Bulk import of 附表1/附表2 through the API: all-or-nothing, row-level errors, downloadable report."""

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from registry_api_support import client, count, isolated, schema, token  # noqa: F401 (fixtures)
from registry_sheets import FORM1_HEADERS, csv_bytes, form1_rows, xlsx

pytestmark = pytest.mark.integration

CITY = token("city_org")
HONGSHAN = token("district_org", "420111")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, content, name="附表1.xlsx", headers=CITY, form="form1"):
    return client.post(f"/imports/{form}", files={"file": (name, content, XLSX)}, headers=headers)


def test_a_good_xlsx_imports_every_row(client, engine, schema):
    rows = form1_rows(30)
    response = upload(client, xlsx(rows))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "imported" and body["imported"] == 30
    assert count(engine, schema, "entities", f"import_id = '{body['import_id']}'") == 30
    assert count(engine, schema, "events", f"payload->>'import_id' = '{body['import_id']}'") == 30
    assert count(engine, schema, "outbox o JOIN {0}.events e USING (event_id)".format(schema),
                 f"e.payload->>'import_id' = '{body['import_id']}'") == 30
    entity = client.get(f"/entities/by-uscc/{rows[2][2]}", headers=CITY).json()
    assert entity["street_code"] == "420191001" and entity["district_code"] == "420191"


def test_a_good_csv_in_gb18030_imports(client):
    response = upload(client, csv_bytes(form1_rows(5), encoding="gb18030"), name="附表1.csv")
    assert response.status_code == 201, response.text


def test_one_bad_row_rejects_the_file_and_writes_nothing(client, engine, schema):
    rows = form1_rows(20)
    rows[4][2] = rows[4][2][:17] + ("0" if rows[4][2][17] != "0" else "1")  # wrong check character
    rows[9][8] = "很多"  # employees not a number
    rows[12][5] = "不存在街道"
    rows[15][2] = rows[3][2]  # same code as an earlier row
    entities, events = count(engine, schema, "entities"), count(engine, schema, "events")
    response = upload(client, xlsx(rows))
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "rejected" and body["imported"] == 0 and body["error"] == "import_rejected"
    found = {(e["row"], e["column"]) for e in body["errors"]}
    # row numbers as the user sees them: title row 1, header row 2, data from row 3
    assert {(7, "统一社会信用代码"), (12, "职工人数"), (15, "所属街道（乡镇）/园区"), (18, "统一社会信用代码")} <= found
    assert count(engine, schema, "entities") == entities and count(engine, schema, "events") == events
    report = client.get(body["errors_url"], headers=CITY)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["行号", "列", "原因"] and len(lines) == 1 + body["error_count"]
    workbook = load_workbook(io.BytesIO(client.get(f"/imports/{body['import_id']}/errors.xlsx", headers=CITY).content))
    assert workbook.active["A1"].value == "行号" and workbook.active.max_row == 1 + body["error_count"]


def test_wrong_headers_are_reported_on_the_header_row(client):
    headers = [h if h != "职工人数" else "职工" for h in FORM1_HEADERS]
    body = upload(client, xlsx(form1_rows(3), headers=headers)).json()
    reasons = [e["reason"] for e in body["errors"]]
    assert any("缺少必需的列“职工人数”" in r for r in reasons) and any("未知列“职工”" in r for r in reasons)
    assert all(e["row"] == 2 for e in body["errors"])


def test_no_header_at_all(client):
    body = upload(client, xlsx([["a", "b"]], headers=["x", "y"], title=None)).json()
    assert body["status"] == "rejected" and "找不到表头" in body["errors"][0]["reason"]


def test_merged_cells_are_row_errors(client):
    body = upload(client, xlsx(form1_rows(6), merge="E4:E6")).json()
    assert body["status"] == "rejected"
    assert {e["row"] for e in body["errors"] if "合并单元格" in e["reason"]} == {4, 5, 6}


def test_empty_rows_are_skipped_and_text_numbers_and_full_width_accepted(client):
    rows = form1_rows(4)
    rows[0][8] = "１２０"
    rows[1][8] = "35人"
    rows[2][2] = rows[2][2].translate({ord(c): ord(c) + 0xFEE0 for c in rows[2][2]})
    rows[3][11] = "3"
    blank = [None] * len(FORM1_HEADERS)
    numbered_blank = [99] + [None] * (len(FORM1_HEADERS) - 1)
    response = upload(client, xlsx([rows[0], blank, rows[1], numbered_blank, rows[2], rows[3], blank]))
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 4


def test_rows_outside_the_territory_are_refused_and_recorded(client, engine, schema):
    body = upload(client, xlsx(form1_rows(4)), headers=HONGSHAN).json()
    assert body["status"] == "rejected"
    refused = [e for e in body["errors"] if "超出本部门权限" in e["reason"]]
    assert len(refused) == 3  # of 4 rows, only 珞南街道 lies in 洪山区
    assert count(engine, schema, "refused_commands", f"target = '{body['import_id']}'") == 1


def test_registered_codes_with_the_same_facts_are_unchanged_and_with_other_facts_row_errors(client, engine, schema):
    rows = form1_rows(3)
    assert upload(client, xlsx(rows)).status_code == 201
    events = count(engine, schema, "events")
    again = upload(client, xlsx(rows))
    assert again.status_code == 201, again.text
    assert again.json()["imported"] == 0 and again.json()["unchanged"] == 3 and again.json()["rows"] == 3
    assert count(engine, schema, "events") == events  # the registry's own data: nothing written
    changed = [row[:8] + [row[8] + 1] + row[9:] for row in rows]  # 职工人数 differs
    changed[1][14] = "另一位负责人"  # and a person differs: compared in clear, never shown
    body = upload(client, xlsx(changed)).json()
    assert body["status"] == "rejected" and body["error_count"] == 3
    assert all("已登记为 entity-" in e["reason"] and "职工人数" in e["reason"] for e in body["errors"])
    assert "出资人（负责人）" in body["errors"][1]["reason"] and "另一位负责人" not in body["errors"][1]["reason"]
    mixed = upload(client, xlsx(rows + form1_rows(2))).json()
    assert mixed["status"] == "imported" and (mixed["imported"], mixed["unchanged"]) == (2, 3)


def test_a_file_without_data_rows_is_refused_naming_the_rule(client):
    body = upload(client, xlsx([])).json()
    assert body["status"] == "rejected" and body["imported"] == 0
    assert "没有任何数据行" in body["errors"][0]["reason"]


def test_the_same_upload_with_the_same_key_is_replayed(client, engine, schema):
    content = xlsx(form1_rows(3))
    headers = {**CITY, "Idempotency-Key": "import-replay-test"}
    first = upload(client, content, headers=headers)
    again = upload(client, content, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["import_id"] == first.json()["import_id"] and again.headers["Idempotent-Replayed"] == "true"
    assert upload(client, xlsx(form1_rows(3)), headers=headers).status_code == 409


@pytest.mark.parametrize("name,content", [("x.xlsx", b"PK\x03\x04 not really a zip"), ("x.pdf", b"%PDF-1.4"),
                                          ("x.csv", b"")])
def test_unreadable_files_are_422(client, name, content):
    response = upload(client, content, name=name)
    assert response.status_code == 422 and response.json()["field"] == "file"


def test_form2_social_organizations(client):
    headers = ["社会组织名称", "统一社会信用代码", "社会组织类别", "层级", "业务主管单位", "所属区", "所属街道（乡镇）", "行业",
               "从业人员数", "运行情况", "正式党员数", "预备党员数", "党组织情况", "负责人", "未建党组织原因"]
    rows = form1_rows(2)
    data = [[f"武汉市示例协会{r[2][-6:]}", r[2], "社会团体", "市级", "无", "武昌区", "水果湖街道", "社会服务", 12, "正常", 1, 0,
             "未建", "王五", "党员不足3名"] for r in rows]
    response = upload(client, xlsx(data, headers=headers, title="附表2"), form="form2")
    assert response.status_code == 201, response.text
    entity = client.get(f"/entities/by-uscc/{rows[0][2]}", headers=CITY).json()
    assert (entity["kind"], entity["level"], entity["supervising_department"]) == ("social_organization", "city", None)


def test_form2_records_the_public_sector_staffing_fact_r5(client, engine, schema):
    """附表2's column 是否以机关事业单位人员为主体 becomes the survey fact public_sector_staffed (EntityRegistered v2),
    and a profile update changes it like any survey fact."""
    headers = ["社会组织名称", "统一社会信用代码", "社会组织类别", "层级", "业务主管单位", "所属区", "所属街道（乡镇）", "行业",
               "从业人员数", "运行情况", "正式党员数", "预备党员数", "党组织情况", "负责人", "未建党组织原因",
               "是否以机关事业单位人员为主体"]
    rows = form1_rows(3)
    data = [[f"武汉市示例研究会{r[2][-6:]}", r[2], "社会团体", "市级", "无", "武昌区", "水果湖街道", "社会服务", 12, "正常", 1, 0,
             "未建", "王五", "党员不足3名", staffed] for r, staffed in zip(rows, ("是", "否", ""))]
    assert upload(client, xlsx(data, headers=headers, title="附表2"), form="form2").status_code == 201
    found = [client.get(f"/entities/by-uscc/{r[2]}", headers=CITY).json() for r in rows]
    assert [e["public_sector_staffed"] for e in found] == [True, False, None]
    with engine.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT schema_version, payload->'public_sector_staffed' FROM {schema}.events"
                                        " WHERE stream_id = :s"), {"s": found[2]["entity_id"]}).all()
    assert versions == [(2, None)]
    updated = client.patch(f"/entities/{found[2]['entity_id']}", json={"public_sector_staffed": True}, headers=CITY)
    assert updated.status_code == 200 and updated.json()["public_sector_staffed"] is True, updated.text
