"""Plausibility (issue "Bad input and operations", item 5), on the real apps and database.

A profile update or an imported row with more formal party members than employees, or a name holding a
control, invisible or private-use character, is refused naming the field and the rule, and writes nothing.
Every example in every service's OpenAPI passes the schema it illustrates, and the registry's passes its
own validator (the USCC check character). A method a path does not allow is a 405 naming the ones it does."""

import csv
import io
import itertools

import jsonschema_rs
import pytest
import sqlalchemy as sa

from hardening_apps import SERVICES
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from registry.domain.uscc import check_character

pytestmark = pytest.mark.integration

ISSUER = issuer_from_settings()
CITY = {"Authorization": f"Bearer {ISSUER.issue(Principal('city_org', 'city_org', 'hardening'))}"}
CONTROL_AND_PRIVATE = {"bell (Cc)": "武汉\u0007科技有限公司", "private use (Co)": "武汉\ue000科技有限公司",
                       "right-to-left override (Cf)": "武汉\u202e司公限有技科", "zero width space (Cf)": "武汉\u200b科技有限公司"}


_SERIAL = itertools.count(10)


def new_uscc() -> str:
    body = f"91420100MA4K{next(_SERIAL):05d}"
    return body + check_character(body)


def example_of(client) -> dict:
    schema = client.app.openapi()["components"]["schemas"]["EntityCreate"]
    return dict(schema["example"])


def events(client) -> int:
    with client.context.engine.connect() as conn:
        return conn.execute(sa.text(f'SELECT count(*) FROM "{client.context.schema}".events')).scalar_one()


def test_the_openapi_examples_pass_their_own_checks(clients):
    for service in SERVICES:
        document = clients[service].app.openapi()
        components = document.get("components", {})
        for name, schema in components.get("schemas", {}).items():
            if "example" in schema:
                validator = jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}",
                                                         "components": components})
                assert validator.is_valid(schema["example"]), (service, name, list(
                    validator.iter_errors(schema["example"])))
    registry = clients["registry"]
    created = registry.post("/entities", json=example_of(registry), headers=CITY)
    assert created.status_code == 201, created.text  # the USCC's check character among its checks
    uscc = registry.app.openapi()["components"]["schemas"]["EntityCreate"]["properties"]["uscc"]
    assert uscc["pattern"].startswith("^[0123456789ABCDEFGHJKLMNPQRTUWXY]")


def test_the_openapi_states_lengths_ranges_and_patterns(clients):
    schemas = clients["registry"].app.openapi()["components"]["schemas"]
    create, update = schemas["EntityCreate"]["properties"], schemas["ProfileUpdate"]["properties"]
    assert create["name"]["maxLength"] == 200 and create["street_code"]["pattern"] == "^[0-9]{9}$"
    assert create["employees"]["minimum"] == 0 and update["formal_members"]["maximum"] == create["employees"]["maximum"]
    assert update["person_in_charge"]["maxLength"] == 50
    assert create["operation_status"]["enum"] == ["operating", "suspended", "dormant"]


def test_more_formal_members_than_employees_is_refused_by_patch_and_import(clients):
    registry = clients["registry"]
    body = example_of(registry) | {"uscc": new_uscc(), "name": "武汉党员多于职工示例有限公司"}
    created = registry.post("/entities", json=body, headers=CITY)
    assert created.status_code == 201, created.text
    entity_id, before = created.json()["entity_id"], events(registry)
    for change in ({"formal_members": 121}, {"employees": 3}, {"employees": 5, "formal_members": 6}):
        response = registry.patch(f"/entities/{entity_id}", json=change, headers=CITY)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["field"] == "formal_members" and response.json()["rule"] == "members_within_employees"
    assert registry.patch(f"/entities/{entity_id}", json={"employees": 4}, headers=CITY).status_code == 200
    assert events(registry) == before + 1
    row = import_row(formal=9, employees=8)
    response = registry.post("/imports/form1", files={"file": ("附表1.csv", row, "text/csv")}, headers=CITY)
    assert response.status_code == 422, response.text
    assert [e["column"] for e in response.json()["errors"]] == ["正式党员数"], response.json()["errors"]


@pytest.mark.parametrize("what", CONTROL_AND_PRIVATE)
def test_control_and_private_use_characters_in_names_are_refused(clients, what):
    registry, name = clients["registry"], CONTROL_AND_PRIVATE[what]
    before = events(registry)
    body = example_of(registry) | {"uscc": new_uscc(), "name": name}
    response = registry.post("/entities", json=body, headers=CITY)
    assert response.status_code == 422 and response.json()["field"] == "name", response.text
    assert response.json()["rule"] == "plain_text" and "U+" in response.json()["message"]
    created = registry.post("/entities", json=body | {"name": f"武汉名称检查示例{len(what)}有限公司"}, headers=CITY)
    assert created.status_code == 201, created.text
    entity_id = created.json()["entity_id"]
    response = registry.patch(f"/entities/{entity_id}", json={"person_in_charge": "张" + name[2] + "三"},
                              headers=CITY)
    assert response.status_code == 422 and response.json()["field"] == "person_in_charge", response.text
    response = registry.post("/imports/form1", files={"file": ("附表1.csv", import_row(name=name), "text/csv")},
                             headers=CITY)
    assert response.status_code == 422 and response.json()["errors"][0]["column"] == "企业名称", response.text
    assert events(registry) == before + 1  # the one clean registration


def import_row(formal: int = 1, employees: int = 8, name: str = "武汉导入检查示例有限公司") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["企业名称", "统一社会信用代码", "企业类型", "所属区", "所属街道（乡镇）/园区", "行业", "职工人数",
                     "经营运行情况", "正式党员数", "预备党员数", "党组织情况", "出资人（负责人）", "未建党组织原因"])
    writer.writerow([name, new_uscc(), "私营企业", "江岸区", "大智街道", "互联网和相关服务", employees,
                     "正常经营", formal, 0, "未建", "李四", "党员不足3名"])
    return buffer.getvalue().encode()


@pytest.mark.parametrize("service", SERVICES)
def test_405_answers_name_the_allowed_methods(clients, service):
    response = clients[service].request("PUT", "/healthz")
    assert response.status_code == 405 and response.headers["Allow"] == "GET", response.headers
    assert response.json()["error"] == "http_error"
