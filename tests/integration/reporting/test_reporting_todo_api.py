"""The daily to-do lists on the real stack: a small seeded world (boundary entities included) published to Kafka,
projected into PostgreSQL by the live projection and by a replay (the same rows), then read over HTTP as JSON and
as XLSX (numbers as numeric cells, a name starting with = as text), in scope, with another department refused."""

import io
import uuid
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context, publish  # noqa: I001
from reporting_scenario import Scenario, ent, org
from platform_core.auth import Principal
from platform_core.contracts import event_types_for
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from platform_core.service import build_app
from platform_core.tokens import issuer_from_settings
from reporting.adapters.replay import replay_into
from reporting.entrypoints.todo_routes import router as todo_router
from reporting.handlers.projection import projection_handler

pytestmark = pytest.mark.integration
A, B = "420102", "420103"
STREET_A, STREET_B = "420102002", "420103001"  # 大智街道, 民族街道
FORMULA_NAME = '=HYPERLINK("http://example.invalid","点此")'


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


def register(s: Scenario, n: int, employees=10, formal=0, probationary=0, district=A, declared="none", name=None):
    s.emit("registry", ent(n), "EntityRegistered", {
        "entity_id": ent(n), "uscc": f"9142010{n:02d}MA4KAAAA0", "name": name or f"待办单位{n}",
        "kind": "non_public_enterprise", "subtype": "private", "district_code": district,
        "street_code": STREET_A if district == A else STREET_B, "level": None, "supervising_department": None, "industry": "manufacturing",
        "employees": employees, "above_scale": False, "formal_members": formal, "probationary_members": probationary,
        "operation_status": "operating", "party_organization": declared, "personal_data": None})


def plan(s: Scenario, n: int, target: str):
    stream = "plan-" + ent(n).removeprefix("entity-")
    s.emit("formation", stream, "PlanCreated", {
        "plan_id": stream, "entity_id": ent(n), "entity_kind": "non_public_enterprise", "district_code": A,
        "street_code": STREET_A, "ledger_unit": f"street-{STREET_A}", "label": "一企一策", "measures": ["排查党员"],
        "target_date": target, "responsible_id": f"person-{uuid.uuid4()}", "responsible_role": "街道党工委副书记",
        "created_on": "2016-09-10"})
    s.emit("formation", stream, "PlanProgressNoted", {
        "plan_id": stream, "entity_id": ent(n), "entity_kind": "non_public_enterprise", "district_code": A,
        "street_code": STREET_A, "ledger_unit": f"street-{STREET_A}", "note": "已走访", "noted_on": "2016-09-20"})


def world() -> Scenario:
    s = Scenario()
    register(s, 1, formal=2)  # 2 formal: not R3
    register(s, 2, formal=3)  # 3 formal, no organization: R3
    register(s, 3, employees=49)  # 49: not R2b
    register(s, 4, employees=50)  # 50, no member: R2b
    register(s, 5, employees=50, probationary=1)  # a probationary member is a member
    register(s, 6)  # plan past its date
    register(s, 7)  # plan past its date, but organized
    register(s, 8)
    register(s, 9)  # never approved
    register(s, 10, declared="joint")  # survey-declared, not recorded by formation
    register(s, 11, formal=3, district=B)
    register(s, 12, employees=60, name=FORMULA_NAME)
    s.approve(f"street-{STREET_A}", [1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    s.approve(f"street-{STREET_B}", [11], district=B)
    plan(s, 6, "2016-10-01")
    plan(s, 7, "2016-10-01")
    s.form(1, "joint", [7, 8])
    return s


@pytest.fixture(scope="module")
def client(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=2)
    schema = f"t_todo_{uuid.uuid4().hex[:8]}"
    publish(settings.kafka_bootstrap, topics, world().events)
    context = make_context(settings, schema, topics["reporting"])
    with TestClient(build_app(context, routers=[todo_router])) as test_client:
        replay_into(engine, settings.kafka_bootstrap, schema, event_types_for("registry", "membership", "formation",
                                                                               "reporting"),
                    topics=tuple(topics.values()))
        test_client.schema, test_client.topics = schema, topics
        yield test_client
    context.engine.dispose()
    drop_schemas_like(engine, schema)
    delete_topics(settings.kafka_bootstrap, topics)


def entries(client, key: str, headers=None, **params) -> set[str]:
    answer = client.get(f"/todo/{key}", params=params, headers=headers or token("district_org", A))
    assert answer.status_code == 200, answer.text
    return {e["entity_id"] for e in answer.json()["entities"]}


def test_each_list_on_the_seeded_world(client):
    assert entries(client, "standalone") == {ent(2)}  # 2 formal members: no; 3: yes; district B is not in scope
    assert entries(client, "member") == {ent(4), ent(12)}  # 49: no; 50: yes; a probationary member counts
    assert entries(client, "uncovered") == {ent(n) for n in (1, 2, 3, 4, 5, 6, 12)}
    assert entries(client, "plans_overdue", today="2016-10-01") == set()  # the target day is still in time
    assert entries(client, "plans_overdue", today="2016-10-02") == {ent(6)}  # 7 is organized
    assert entries(client, "unlisted") == {ent(9)}
    assert entries(client, "declared") == {ent(10)}
    assert entries(client, "standalone", token("city_org"), district=B) == {ent(11)}
    assert entries(client, "standalone", token("city_org"), ledger_unit=f"street-{STREET_B}") == {ent(11)}
    assert entries(client, "standalone", token("street_office", STREET_A)) == {ent(2)}
    index = client.get("/todo", params={"today": "2016-10-02"}, headers=token("district_org", A)).json()
    assert {t["key"]: t["total"] for t in index["lists"]} == {
        "standalone": 1, "member": 2, "uncovered": 7, "plans_overdue": 1, "unlisted": 1, "declared": 1}
    listed = client.get("/todo/plans_overdue", params={"today": "2016-10-02"}, headers=token("district_org", A)).json()
    row = listed["entities"][0]
    assert row["days_overdue"] == 1 and row["target_date"] == "2016-10-01" and row["last_noted_on"] == "2016-09-20"
    assert (row["district"], row["street"], row["ledger_unit"]) == ("江岸区", "大智街道", "江岸区大智街道")
    assert row["responsible_role"] == "街道党工委副书记"


def test_other_departments_and_bad_input_are_refused(client):
    for headers, params in ((token("district_org", B), {"district": A}), (token("district_org", B), {"street": STREET_A}),
                            (token("street_office", "420102003"), {"street": STREET_A}), (token("education"), {"ledger_unit": "civil-affairs"}),
                            (token("district_org", A), {"ledger_unit": "civil-affairs"})):
        refused = client.get("/todo/member", params=params, headers=headers)
        assert refused.status_code == 403, (headers, params, refused.text)
        assert client.get("/todo/member.xlsx", params=params, headers=headers).status_code == 403
    assert client.get("/todo/member").status_code == 401
    assert client.get("/todo/nothing", headers=token("city_org")).status_code == 422
    assert client.get("/todo/member", params={"district": "42"}, headers=token("city_org")).status_code == 422
    assert client.get("/todo/member", params={"today": "0"}, headers=token("city_org")).status_code == 422


def test_xlsx_holds_numbers_as_numbers_and_names_as_text(client):
    answer = client.get("/todo/member.xlsx", headers=token("district_org", A))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    headers = [c.value for c in sheet[3]]
    assert headers[:2] == ["单位名称", "类型"] and "职工人数" in headers
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=4)}
    employees = headers.index("职工人数")
    assert rows["待办单位4"][employees].value == 50 and rows["待办单位4"][employees].data_type == "n"
    assert rows[FORMULA_NAME][0].data_type == "s" and rows[FORMULA_NAME][employees].value == 60
    with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()  # no formula anywhere
    plans = load_workbook(io.BytesIO(client.get("/todo/plans_overdue.xlsx", params={"today": "2016-10-05"},
                                                headers=token("district_org", A)).content)).active
    header = [c.value for c in plans[3]]
    row = list(plans.iter_rows(min_row=4))[0]
    assert row[header.index("逾期天数")].value == 4 and row[header.index("目标日期")].is_date


def test_the_live_projection_gives_the_replays_plans(client, engine, settings):
    """rp_plans by the live batch handler (through Kafka) equals the replay's."""
    schema = f"t_todo_live_{uuid.uuid4().hex[:8]}"
    from platform_core.db import migrate
    from reporting.adapters.projection_store import create_tables

    migrate(engine, schema)
    with engine.begin() as conn:
        create_tables(conn, schema)
    producer = create_producer(settings.kafka_bootstrap, "test-todo-live")
    applier = ProjectionApplier(schema, f"todo-live-{schema}", None,
                                event_types_for("registry", "membership", "formation", "reporting"),
                                DeadLetterPublisher(producer), batch_handler=projection_handler(schema))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, list(client.topics.values()), applier,
                                  max_records=7)
    try:
        idle = 0
        while idle < 3:
            outcome = consumer.poll_once(timeout_ms=1000)
            idle = 0 if outcome.applied or outcome.duplicates else idle + 1
        with engine.connect() as conn:
            live, replayed = (conn.execute(sa.text(f"SELECT * FROM {s}.rp_plans ORDER BY entity_id")).all()
                              for s in (schema, client.schema))
        assert live == replayed and len(live) == 2
        assert {r.last_noted_on.isoformat() for r in live} == {"2016-09-20"}
    finally:
        consumer.consumer.close()
        producer.close()
        drop_schemas_like(engine, schema)
