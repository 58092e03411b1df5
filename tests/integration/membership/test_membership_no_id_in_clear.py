"""Identity numbers and names never appear in clear: not on the raw Kafka topic, not in the
service's logs (at DEBUG, access log on), not in error bodies, not in the event store."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer

from membership_support import new_id_number, organization_formed, project_organizations, token
from platform_core.kafka_io import kafka_options
from platform_core.outbox_relay import OutboxRelay

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path):
    """The membership service as operators run it (uvicorn), its log captured in a file."""
    port, log_path = free_port(), tmp_path / "membership.log"
    env = os.environ | {"CAMPAIGN_LOG_LEVEL": "DEBUG", "CAMPAIGN_LOG_FORMAT": "json"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("uvicorn")), "membership.entrypoints.http:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "debug"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield base, process, log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def variants(number: str) -> list[bytes]:
    """The number as sent, lower-cased, and its 17 significant digits."""
    return [number.encode(), number.lower().encode(), number[:17].encode()]


def publish_outbox(engine, producer, stream_ids: set[str], timeout_s: float = 60) -> set[str]:
    """Relay membership's outbox until every event of these streams is on Kafka; their event ids."""
    relay = OutboxRelay(engine, "membership", producer)
    deadline = time.monotonic() + timeout_s
    query = sa.text("SELECT e.event_id::text AS id, o.published_at FROM membership.events e"
                    " JOIN membership.outbox o ON o.event_id = e.event_id WHERE e.stream_id = ANY(:s)")
    while True:
        relay.publish_batch()
        with engine.connect() as conn:
            rows = conn.execute(query, {"s": list(stream_ids)}).all()
        if rows and all(row.published_at for row in rows):
            return {row.id for row in rows}
        assert time.monotonic() < deadline, "outbox not published in time"
        time.sleep(0.2)


def raw_topic(bootstrap: str, wanted: set[str], timeout_s: float = 60) -> list:
    """Every record of membership.events from the start, until the wanted event ids were seen."""
    consumer = KafkaConsumer("membership.events", **kafka_options(bootstrap), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
    records, seen, deadline = [], set(), time.monotonic() + timeout_s
    try:
        while not wanted <= seen and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    records.append(record)
                    seen.update(event_id for event_id in wanted if event_id.encode() in record.value)
    finally:
        consumer.close()
    assert wanted <= seen, f"{len(wanted - seen)} events not found on membership.events"
    return records


def test_no_identity_number_or_name_in_kafka_logs_errors_or_store(service, engine, producer, settings):
    base, process, log_path = service
    city, district = token("city_org"), token("district_org", "420102")
    people = {name: new_id_number() for name in ("欧阳测甲", "司马测乙", "诸葛测丙", "上官测丁")}
    sent: list[str] = list(people.values())
    entity = lambda: f"entity-{os.urandom(4).hex()}-0000-4000-8000-{os.urandom(6).hex()}"  # noqa: E731

    def organization(covered: str) -> str:  # formed, as formation would publish it
        organization_id = f"organization-{os.urandom(4).hex()}-0000-4000-8000-{os.urandom(6).hex()}"
        project_organizations(engine, producer, organization_formed(organization_id, [covered]))
        return organization_id

    members, bodies = set(), []
    with httpx.Client(base_url=base, timeout=30) as http:
        def post(path, body, headers=city):
            response = http.post(path, json=body, headers=headers)
            bodies.append(response.text)
            return response

        (a, b, c, d) = people.items()
        first_entity, second_entity, third_entity, target_entity = entity(), entity(), entity(), entity()
        source = organization(second_entity)
        first = post("/members/found", {"name": a[0], "id_number": a[1], "standing": "formal",
                                        "admitted_on": "2008-06-01", "entity_id": first_entity, "organization_id": None})
        members.add(first.json()["member_id"])
        second = post("/members/found", {"name": b[0], "id_number": b[1].lower(), "standing": "formal",
                                         "admitted_on": "2008-06-01", "entity_id": second_entity,
                                         "organization_id": source})
        members.add(second.json()["member_id"])
        members.add(post("/members/developed", {"name": c[0], "id_number": c[1], "admitted_on": "2016-09-01",
                                                "entity_id": third_entity, "organization_id": organization(third_entity)}
                         ).json()["member_id"])
        members.add(post("/members/recruited", {"name": d[0], "id_number": d[1], "standing": "formal",
                                                "admitted_on": "2001-01-01", "entity_id": entity(),
                                                "organization_id": None}).json()["member_id"])
        assert post(f"/members/{first.json()['member_id']}/reveal",
                    {"organization_id": organization(first_entity)}).status_code == 200
        assert post(f"/members/{second.json()['member_id']}/transfer", {
            "from_organization_id": source, "to_organization_id": organization(target_entity),
            "to_entity_id": target_entity}).status_code == 200
        # A read of personal data answers with it (not kept in ``bodies``); its access event must not carry it.
        read = http.post(f"/members/{second.json()['member_id']}/personal-data", json={"reason": "组织关系转接核对"},
                         headers=city)
        assert read.status_code == 200 and read.json()["id_number"] == b[1].upper()
        members.add(read.json()["access_id"])
        # Errors that a careless implementation would echo the number in:
        assert post("/members/found", {"name": a[0], "id_number": a[1], "standing": "formal",
                                       "admitted_on": "2008-06-01", "entity_id": entity()}).status_code == 409
        wrong_check = a[1][:17] + ("0" if a[1][17] != "0" else "1")
        too_long, not_a_string = a[1] + "7", int(b[1][:17])
        sent += [wrong_check, too_long]
        for bad in (wrong_check, too_long, not_a_string, a[1][:10]):
            response = post("/members/found", {"name": a[0], "id_number": bad, "standing": "formal",
                                               "admitted_on": "2008-06-01", "entity_id": entity()})
            assert response.status_code == 422, response.text
        assert post("/members/found", {"name": a[0], "id_number": a[1], "standing": "formal",
                                       "admitted_on": "not a date", "entity_id": entity()}).status_code == 422
        assert post("/members/found", {"name": c[0], "id_number": c[1], "standing": "formal",
                                       "admitted_on": "2008-06-01", "entity_id": entity()},
                    headers=token("civil_affairs")).status_code == 403
        assert post("/members/found", {"name": c[0], "id_number": c[1], "standing": "formal",
                                       "admitted_on": "2008-06-01", "entity_id": entity()},
                    headers=district).status_code == 409  # the entity is not known yet: not_yet_projected
        assert http.post("/members/found", content=b'{"id_number": "' + a[1].encode() + b'",',
                         headers=city | {"content-type": "application/json"}).status_code == 422
    process.terminate()
    process.wait(timeout=20)

    # Names as UTF-8 (Kafka, the store) and as JSON \u escapes (the JSON log formatter escapes non-ASCII).
    forbidden = [v for number in sent for v in variants(number)] + [n.encode() for n in people]
    forbidden += [json.dumps(n).strip('"').encode() for n in people]
    forbidden.append(str(not_a_string).encode())

    def leaks(data: bytes) -> list[bytes]:
        return [f for f in forbidden if f in data]

    assert all(not leaks(body.encode()) for body in bodies), [b for b in bodies if leaks(b.encode())]
    log = log_path.read_bytes()
    # The log really holds the service's output: access lines of the refused requests and its JSON records.
    assert b'"POST /members/found HTTP/1.1" 422' in log and b'"message": "refused command"' in log, log[:3000]
    assert not leaks(log), leaks(log)

    event_ids = publish_outbox(engine, producer, members)
    assert len(event_ids) == 7  # PersonalDataAccessed included
    records = raw_topic(settings.kafka_bootstrap, event_ids)
    for record in records:
        assert not leaks(record.value) and not leaks(record.key or b""), record.offset

    with engine.connect() as conn:
        stored = b"".join(
            bytes(row[0]) for row in conn.execute(sa.text(
                "SELECT convert_to(e.payload::text || e.actor::text, 'UTF8') || e.canonical FROM membership.events e"
                " WHERE e.stream_id = ANY(:s)"), {"s": list(members)}))
        stored += b"".join(
            bytes(row[0]) for row in conn.execute(sa.text(
                "SELECT id_number_sealed || name_sealed || id_hash FROM membership.member_identities"
                " WHERE member_id = ANY(:s)"), {"s": list(members)}))
        stored += b"".join(row[0].encode() for row in conn.execute(sa.text(
            "SELECT coalesce(reason, '') || coalesce(target, '') FROM membership.refused_commands")))
    assert stored and not leaks(stored)
