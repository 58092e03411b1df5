"""Erasure on the real stack: after an entity's persons and a member's identity are erased, no API, no export
(the registry's import error reports, the audit export), no service log and no Kafka topic shows them, and the
audit log still verifies.

The services run as operators run them (uvicorn, the outbox relays, the audit log consumer), registry and
membership at DEBUG with the access log on, each process logging to its own file. Reporting runs over a scratch
schema (CAMPAIGN_REPORTING_SCHEMA), so its audit log is this run's own copy of every topic.
"""

import csv
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from openpyxl import load_workbook

from membership.domain.id_number import check_character
from platform_core.kafka_io import kafka_options
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.kafka_io import DEAD_LETTER_TOPIC
from platform_core.services import EVENT_TOPICS
from platform_core.local_processes import free_port, stop_all, wait_ready
from registry.domain.uscc import ALPHABET
from registry.domain.uscc import check_character as uscc_check
from signer_process import running_signer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.timeout(600)


def token(kind: str, territory: str | None = None) -> dict[str, str]:
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department, kind, "erasure-e2e", territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


OWN, CITY, INSPECTOR = token("district_org", "420102"), token("city_org"), token("inspector")


def uscc() -> str:
    body = "91420100" + "".join(random.choice(ALPHABET) for _ in range(9))
    return body + uscc_check(body)


def id_number() -> str:
    first17 = f"420102{random.randint(1950, 1999)}0{random.randint(1, 9)}1{random.randint(0, 8)}{random.randint(100, 999)}"
    return first17 + check_character(first17)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    folder = tmp_path_factory.mktemp("erasure")
    scratch = f"e2e_erasure_{uuid.uuid4().hex[:8]}"
    # this run's audit log is signed by a signer of its own (reporting holds no key)
    with running_signer(folder / "signer", f"campaign.example/{scratch}/audit") as signer:
        yield from _services(folder, scratch, signer.reporting_env())


def _services(folder, scratch: str, asks_signer: dict[str, str]):
    env = {**os.environ, "CAMPAIGN_REPORTING_SCHEMA": scratch, "CAMPAIGN_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0",
           "CAMPAIGN_LOG_FORMAT": "json", **asks_signer}
    debug = {**env, "CAMPAIGN_LOG_LEVEL": "DEBUG"}
    ports = {name: free_port() for name in ("registry", "membership", "reporting")}
    commands = {f"{name}-http": ([str(BIN / "uvicorn"), f"{name}.entrypoints.http:app", "--host", "127.0.0.1",
                                  "--port", str(port), "--log-level", "debug"], debug if name != "reporting" else env)
                for name, port in ports.items()}
    commands |= {f"{name}-relay": ([str(BIN / "campaign"), "relay", name], debug) for name in ("registry", "membership")}
    commands["reporting-audit"] = ([str(BIN / "campaign"), "consume", "reporting"], env)
    logs = {name: folder / f"{name}.log" for name in commands}
    processes = [subprocess.Popen(command, env=process_env, cwd=ROOT, stdout=logs[name].open("wb"),
                                  stderr=subprocess.STDOUT) for name, (command, process_env) in commands.items()]
    try:
        for name, port in ports.items():
            wait_ready(port, 90, what=name)
        yield {"urls": {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, "logs": logs,
               "folder": folder, "schema": scratch, "env": env, "processes": processes}
    finally:
        stop_all(processes)
        engine = sa.create_engine(os.environ["CAMPAIGN_DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {scratch} CASCADE"))
        engine.dispose()


def form1(rows: list[list]) -> bytes:
    headers = ["企业名称", "统一社会信用代码", "企业类型", "所属区", "所属街道（乡镇）/园区", "地址", "行业", "职工人数", "经营运行情况",
               "正式党员数", "预备党员数", "党组织情况", "出资人（负责人）", "出资人（负责人）是否党员", "法定代表人", "未建党组织原因"]
    out = io.StringIO()
    csv.writer(out).writerows([headers, *rows])
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def erased(platform):
    """Personal data entered every way there is, read back by its owners, then erased; what to look for."""
    tag = uuid.uuid4().hex[:6]
    person = {"person_in_charge": f"仲孙甲{tag}", "legal_representative": f"澹台乙{tag}", "address": f"沿江大道{tag}号"}
    replaced = f"公冶丙{tag}"  # a legal representative replaced before the erasure
    imported = {"person_in_charge": f"宇文丁{tag}", "legal_representative": f"长孙戊{tag}", "address": f"解放大道{tag}号"}
    rejected = {"person_in_charge": f"司徒己{tag}", "address": f"中山大道{tag}号"}  # only ever in a rejected file
    member = {"name": f"呼延庚{tag}", "id_number": id_number()}
    urls, out = platform["urls"], {}
    with httpx.Client(timeout=60) as http:
        created = http.post(f"{urls['registry']}/entities", headers=OWN, json={
            "kind": "non_public_enterprise", "subtype": "private", "uscc": uscc(), "name": f"武汉抹除{tag}科技有限公司",
            "street_code": "420102002", "industry": "internet", "employees": 120, "formal_members": 1,
            "operation_status": "operating", "party_organization": "none", "no_organization_reason": "正在筹建",
            "person_in_charge_is_member": True, **(person | {"legal_representative": replaced})})
        assert created.status_code == 201, created.text
        entity = created.json()["entity_id"]
        updated = http.patch(f"{urls['registry']}/entities/{entity}", headers=OWN,
                             json={"legal_representative": person["legal_representative"]})
        assert updated.status_code == 200 and updated.json()["legal_representative"] == person["legal_representative"]
        code = uscc()
        good = form1([[f"武汉导入{tag}有限公司", code, "私营企业", "江岸区", "大智街道", imported["address"], "互联网和相关服务", 60,
                       "正常经营", 0, 0, "未建", imported["person_in_charge"], "是", imported["legal_representative"],
                       "无党员"]])
        assert http.post(f"{urls['registry']}/imports/form1", headers=OWN,
                         files={"file": ("附表1.csv", good, "text/csv")}).status_code == 201
        bad = form1([[f"武汉拒收{tag}有限公司", uscc()[:17] + "0", "私营企业", "江岸区", "大智街道", rejected["address"],
                      "互联网和相关服务", "很多", "正常经营", 0, 0, "未建", rejected["person_in_charge"], "否", "", "无党员"]])
        refused = http.post(f"{urls['registry']}/imports/form1", headers=OWN,
                            files={"file": ("附表1.csv", bad, "text/csv")})
        assert refused.status_code == 422, refused.text
        other = http.get(f"{urls['registry']}/entities/by-uscc/{code}", headers=OWN).json()
        assert other["person_in_charge"] == imported["person_in_charge"]
        found = http.post(f"{urls['membership']}/members/found", headers=CITY, json={
            **member, "standing": "formal", "admitted_on": "2006-07-01", "entity_id": entity, "organization_id": None})
        assert found.status_code == 201, found.text
        member_id = found.json()["member_id"]
        read = http.post(f"{urls['membership']}/members/{member_id}/personal-data", headers=CITY,
                         json={"reason": "核对党员身份（测试）"}).json()
        assert {k: read[k] for k in ("name", "id_number")} == member

        for entity_id in (entity, other["entity_id"]):
            done = http.post(f"{urls['registry']}/entities/{entity_id}/personal-data/erase", headers=OWN,
                             json={"reason": "consent_withdrawn"})
            assert done.status_code == 200 and done.json()["personal_data"]["status"] == "erased", done.text
        done = http.post(f"{urls['membership']}/members/{member_id}/personal-data/erase", headers=CITY,
                         json={"reason": "purpose_fulfilled"})
        assert done.status_code == 200, done.text
    values = [*person.values(), replaced, *imported.values(), *rejected.values(), *member.values()]
    out.update(entity=entity, other=other["entity_id"], uscc=code, member=member_id, import_id=refused.json()["import_id"],
               values=values, streams=[entity, other["entity_id"], member_id])
    return out


def forbidden(values: list[str]) -> list[bytes]:
    """Each value as UTF-8, as JSON escapes (JSON logs escape non-ASCII) and, for the number, its 17 digits."""
    found = []
    for value in values:
        found += [value.encode(), json.dumps(value).strip('"').encode()]
        if value[:17].isdigit():
            found.append(value[:17].encode())
    return found


def leaks(data: bytes, values: list[str]) -> list[bytes]:
    return [f for f in forbidden(values) if f in data]


def test_no_api_shows_the_erased_data(platform, erased):
    urls, values = platform["urls"], erased["values"]
    registry, entity = urls["registry"], erased["entity"]
    with httpx.Client(timeout=60) as http:
        answers = []
        for headers in (OWN, CITY, INSPECTOR, token("market_regulation")):
            for path in (f"/entities/{entity}", f"/entities/{erased['other']}", f"/entities/by-uscc/{erased['uscc']}",
                         f"/entities/{entity}/history", "/entities?district=420102&limit=500",
                         "/shadow-candidates?district=420102", f"/imports/{erased['import_id']}",
                         f"/imports/{erased['import_id']}/errors.csv"):
                response = http.get(registry + path, headers=headers)
                assert response.status_code == 200, (path, response.text)
                answers.append(response.content)
            for path in (f"/members/{erased['member']}", f"/members?entity_id={entity}"):
                response = http.get(urls["membership"] + path, headers=headers)
                assert response.status_code == 200, (path, response.text)
                answers.append(response.content)
        shown = http.get(f"{registry}/entities/{entity}", headers=OWN).json()
        assert shown["personal_data"]["status"] == "erased" and shown["person_in_charge"] is None
        member = http.get(f"{urls['membership']}/members/{erased['member']}", headers=CITY).json()
        gone = http.post(f"{urls['membership']}/members/{erased['member']}/personal-data", headers=CITY,
                         json={"reason": "核对党员身份（测试）"})
        assert gone.status_code == 410 and member["personal_data_erased"]
        answers.append(gone.content)
        report = http.get(f"{registry}/imports/{erased['import_id']}/errors.xlsx", headers=OWN)
        assert report.status_code == 200
        cells = [str(c) for row in load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True)
                 for c in row if c is not None]
        answers.append("\n".join(cells).encode())
        assert any("职工人数" in cell or "统一社会信用代码" in cell for cell in cells)  # the report is really there
        _wait_for_the_audit_log(platform, erased)
        for entity_id in (entity, erased["other"]):
            history = http.get(f"{urls['reporting']}/audit/entities/{entity_id}/history", headers=INSPECTOR)
            assert history.status_code == 200 and history.json()["events"], history.text
            answers.append(history.content)
    assert [leaks(answer, values) for answer in answers] == [[]] * len(answers)


def _event_ids(streams: list[str]) -> set[str]:
    engine = sa.create_engine(os.environ["CAMPAIGN_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return {row[0] for service in ("registry", "membership") for row in conn.execute(sa.text(
                f"SELECT event_id::text FROM {service}.events WHERE stream_id = ANY(:s)"), {"s": streams})}
    finally:
        engine.dispose()


def _wait_for_the_audit_log(platform, erased, timeout_s: float = 240) -> None:
    """Until the relays published every event of the erased streams and the audit log appended them."""
    wanted = _event_ids(erased["streams"])
    assert len(wanted) >= 6  # registered, updated, erased; imported, erased; member found, erased
    engine = sa.create_engine(os.environ["CAMPAIGN_DATABASE_URL"])
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                logged = conn.execute(sa.text(f"SELECT count(*) FROM {platform['schema']}.audit_log"
                                              " WHERE event_id = ANY(CAST(:ids AS uuid[]))"),
                                      {"ids": sorted(wanted)}).scalar()
            if logged == len(wanted):
                return
            assert time.monotonic() < deadline, f"{logged} of {len(wanted)} events in the audit log"
            time.sleep(1)
    finally:
        engine.dispose()


def test_the_audit_export_holds_none_of_it_and_the_log_still_verifies(platform, erased):
    _wait_for_the_audit_log(platform, erased)
    env, out = platform["env"], platform["folder"] / "audit-export"
    signed = subprocess.run([sys.executable, "-m", "reporting.audit.sign"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert signed.returncode == 0, signed.stderr[-3000:]
    # The audit log's own copy: the shared topics also carry events of other runs' scratch schemas, since dropped.
    exported = subprocess.run([sys.executable, "-m", "reporting.audit.export", "--out", str(out), "--schema",
                               platform["schema"], "--source", "log"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr[-3000:]
    events = (out / "events.jsonl").read_bytes()
    assert all(event_id.encode() in events for event_id in _event_ids(erased["streams"]))
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        assert leaks(path.read_bytes(), erased["values"]) == [], path
    verified = subprocess.run([sys.executable, "-m", "reporting.audit.verify", "--keys", str(out / "audit-keys.vkey"),
                               "--checkpoints", str(out / "checkpoints"), "--events", str(out / "events.jsonl")],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]


def test_no_kafka_topic_holds_any_of_it(platform, erased):
    _wait_for_the_audit_log(platform, erased)  # everything of these streams was published by then
    consumer = KafkaConsumer(**kafka_options(os.environ["CAMPAIGN_KAFKA_BOOTSTRAP"]), enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=5000)
    try:
        partitions = [TopicPartition(topic, p) for topic in [*EVENT_TOPICS, DEAD_LETTER_TOPIC]
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        scanned, found = 0, []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                for record in batch:
                    scanned += 1
                    data = record.value + (record.key or b"") + b"".join(v for _, v in record.headers or [])
                    if leaks(data, erased["values"]):
                        found.append((record.topic, record.offset))
    finally:
        consumer.close()
    wanted = _event_ids(erased["streams"])
    assert scanned >= len(wanted) and found == []


def test_no_service_log_holds_any_of_it(platform, erased):
    stop_all(platform["processes"])  # every line flushed
    for name, path in platform["logs"].items():
        log = path.read_bytes()
        assert log, name
        assert leaks(log, erased["values"]) == [], name
    registry = platform["logs"]["registry-http"].read_bytes()
    # The logs really hold the requests (DEBUG, access log on), among them the erasures.
    assert f"/entities/{erased['entity']}/personal-data/erase".encode() in registry
    assert b'"PATCH /entities/' in registry and b" 422" in registry
