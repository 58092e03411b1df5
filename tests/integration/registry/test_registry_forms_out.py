"""附表1/附表2 out through the API: a ledger unit's export imported back writes nothing, imported into a fresh
registry gives identical EntityRegistered facts; scope; formula-like names; blank templates."""

import io
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from registry_api_support import client, count, enterprise, isolated, schema, token  # noqa: F401 (fixtures)
from registry_sheets import csv_bytes, form1_rows, xlsx

from platform_core.contracts import event_types_for
from platform_core.event_store import EventStore
from platform_core.service import ServiceContext, service_migrations
from registry.entrypoints.http import create_app

pytestmark = pytest.mark.integration

CITY = token("city_org")
JIANGAN = token("district_org", "420102")
HONGSHAN = token("district_org", "420111")
STREET = "street-420102002"  # 江岸区大智街道
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DANGEROUS = ['=HYPERLINK("http://evil.example","点我")', "+1科技有限公司", "-1", "@x商贸", "＝SUM(A1:A9)"]


@pytest.fixture(scope="module")
def fresh(settings, engine):
    """A second registry on its own schema (same keys): where an exported ledger is imported as new."""
    schema_b = f"r_{uuid.uuid4().hex[:12]}"
    store = EventStore(engine, schema_b, f"test.registry.{uuid.uuid4().hex[:12]}", event_types_for("registry"),
                       settings.max_payload_bytes)
    with TestClient(create_app(ServiceContext(schema_b, settings, engine, store,
                                              service_migrations("registry")))) as other:
        yield other, schema_b
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema_b} CASCADE"))


def upload(client, content, form="form1", headers=CITY):
    return client.post(f"/imports/{form}", files={"file": (f"{form}.xlsx", content, XLSX)}, headers=headers)


def register(client, body, headers=CITY) -> dict:
    response = client.post("/entities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def export(client, unit, form="form1", headers=JIANGAN):
    return client.get(f"/ledgers/{unit}/forms/{form}.xlsx", headers=headers)


def facts_by_code(engine, schema: str) -> dict[str, dict]:
    """Each entity's current facts in the read model, its sealed persons' reference left out (a new record)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT uscc, facts FROM {schema}.entities")).all()
    return {uscc: {**facts, "personal_data": {k: v for k, v in facts["personal_data"].items() if k != "ref"}}
            for uscc, facts in rows}


def registered_payloads(engine, schema: str) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT payload FROM {schema}.events WHERE type = 'EntityRegistered'")).scalars()
        return {p["uscc"]: {**{k: v for k, v in p.items() if k not in ("entity_id", "import_id")},
                            "personal_data": {k: v for k, v in p["personal_data"].items() if k != "ref"}}
                for p in rows}


@pytest.fixture(scope="module")
def street_ledger(client):
    """大智街道's enterprises: imported ones, formula-like names registered by API, and one updated since."""
    assert upload(client, xlsx(form1_rows(6, streets=[("江岸区", "大智街道")]))).status_code == 201
    named = [register(client, enterprise(name=name)) for name in DANGEROUS]
    rural = register(client, enterprise(kind="rural_entity", subtype="family_farm", address=None,
                                        legal_representative=None, industry="agriculture"))
    updated = client.patch(f"/entities/{named[0]['entity_id']}", headers=CITY,
                           json={"employees": 321, "person_in_charge": "=cmd|' /C calc'!A0", "address": "-2号"})
    assert updated.status_code == 200, updated.text
    register(client, enterprise(street_code="420111001"))  # 洪山区: another unit's
    return named + [rural]


def test_an_export_holds_the_unit_and_its_names_as_text(client, street_ledger):
    response = export(client, STREET)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX and STREET in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    headers = [c.value for c in sheet[2]]
    rows = [dict(zip(headers, row)) for row in sheet.iter_rows(min_row=3)]
    assert len(rows) == 6 + len(DANGEROUS) + 1
    assert {r["所属街道（乡镇）/园区"].value for r in rows} == {"大智街道"}
    names = {r["企业名称"].value: r["企业名称"] for r in rows}
    for name in DANGEROUS:
        assert names[name].data_type == "s" and names[name].value == name  # text, never a formula
    for row in rows:
        for header in ("序号", "职工人数", "正式党员数", "预备党员数"):
            assert row[header].data_type == "n" and isinstance(row[header].value, int)
        assert row["统一社会信用代码"].data_type == "s"
    assert any(r["职工人数"].value == 321 and r["出资人（负责人）"].value == "=cmd|' /C calc'!A0" for r in rows)


def test_the_export_imported_back_writes_nothing(client, engine, schema, street_ledger):
    content = export(client, STREET).content
    events = count(engine, schema, "events")
    entities = facts_by_code(engine, schema)
    response = upload(client, content, headers=JIANGAN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "imported" and body["imported"] == 0 and body["unchanged"] == body["rows"] == 12
    assert count(engine, schema, "events") == events and facts_by_code(engine, schema) == entities


def test_the_export_imported_into_a_fresh_registry_gives_identical_facts(client, engine, schema, fresh,
                                                                          street_ledger):
    other, schema_b = fresh
    response = upload(other, export(client, STREET).content)
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 12
    here, there = facts_by_code(engine, schema), registered_payloads(engine, schema_b)
    assert set(there) <= set(here)
    for code, payload in there.items():
        assert payload == here[code], code  # the same facts, persons' keyed hashes included
    originals = registered_payloads(engine, schema)
    never_updated = [code for code in there if code != street_ledger[0]["uscc"]]
    assert all(there[code] == originals[code] for code in never_updated)  # identical EntityRegistered events


def test_form2_round_trip_of_a_district_social_ledger(client, engine, schema):
    unit = "district-420102-social"
    for subtype in ("law_firm", "private_school"):
        register(client, enterprise(kind="social_organization", subtype=subtype, level="district",
                                    industry="education", name=f"@社会组织{uuid.uuid4().hex[:6]}",
                                    public_sector_staffed=subtype == "law_firm"))
    content = export(client, unit, "form2").content
    events = count(engine, schema, "events")
    body = upload(client, content, form="form2", headers=JIANGAN).json()
    assert body["status"] == "imported" and body["unchanged"] == body["rows"] >= 2 and body["imported"] == 0
    assert count(engine, schema, "events") == events


def test_another_department_gets_the_documented_refusal(client, street_ledger):
    refused = export(client, STREET, headers=HONGSHAN)
    assert refused.status_code == 403
    assert "只能导出本部门报送的台帐" in refused.json()["message"] and "大智街道" in refused.json()["message"]
    assert client.get(f"/ledgers/{STREET}/forms/form1.xlsx").status_code == 401
    assert export(client, STREET, "form2").status_code == 422  # a street ledger is 附表1
    assert export(client, "street-999999999").status_code == 422
    assert export(client, STREET, headers=CITY).status_code == 200  # the city reads every ledger


@pytest.mark.parametrize("form,first", [("form1", "企业名称"), ("form2", "社会组织名称")])
def test_a_blank_template_is_public_and_refused_when_imported_empty(client, form, first):
    response = client.get(f"/forms/{form}/template.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content))
    assert book.worksheets[0].cell(2, 2).value == first and book.worksheets[0].max_row == 2
    assert "填表说明" in book.sheetnames
    body = upload(client, response.content, form=form).json()
    assert body["status"] == "rejected" and "没有任何数据行" in body["errors"][0]["reason"]


def test_the_routes_are_in_the_openapi(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/ledgers/{unit}/forms/{form}.xlsx" in paths and "/forms/{form}/template.xlsx" in paths


def test_the_error_reports_keep_row_numbers_numeric_and_formula_like_text_inert(client):
    headers = ["企业名称", "统一社会信用代码", "=HYPERLINK(\"http://evil.example\",\"x\")"]
    content = csv_bytes([["武汉某公司", "91420100MA4KXXXXX0", "1"]], headers)  # a CSV holds the header as text
    body = client.post("/imports/form1", files={"file": ("f.csv", content, "text/csv")}, headers=CITY).json()
    assert body["status"] == "rejected", body
    report = load_workbook(io.BytesIO(client.get(f"/imports/{body['import_id']}/errors.xlsx", headers=CITY).content))
    rows = list(report.active.iter_rows(min_row=2))
    assert rows and all(row[0].data_type == "n" and isinstance(row[0].value, int) for row in rows)
    formula_like = [row[1] for row in rows if row[1].value.startswith("=")]
    assert formula_like and all(cell.data_type == "s" for cell in formula_like)  # text, never a formula
    csv_text = client.get(f"/imports/{body['import_id']}/errors.csv", headers=CITY).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text
