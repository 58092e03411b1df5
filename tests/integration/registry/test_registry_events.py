"""The registry's events reach ``registry.events``-style topics through the outbox, with the contract payloads."""

import pytest
from registry_api_support import enterprise, isolated, token  # noqa: F401 (fixture)
from registry_sheets import form1_rows, xlsx
from support import read_topic

from platform_core.contracts import event_types_for
from platform_core.envelope import EventEnvelope
from platform_core.kafka_io import create_producer
from platform_core.outbox_relay import OutboxRelay

pytestmark = pytest.mark.integration

JIANGAN = token("district_org", "420102")
CITY = token("city_org")
MARKET = token("market_regulation")


def test_every_command_publishes_its_contract_event(isolated, engine, settings):
    client, schema, topic = isolated
    a = client.post("/entities", json=enterprise(street_code="420102010"), headers=JIANGAN).json()
    b = client.post("/entities", json=enterprise(street_code="420102010"), headers=JIANGAN).json()
    client.patch(f"/entities/{a['entity_id']}", json={"formal_members": 5}, headers=JIANGAN)
    client.post(f"/entities/{b['entity_id']}/flags", json={"flag": "shadow", "reason": "重复注册",
                                                           "duplicate_of": a["entity_id"]}, headers=MARKET)
    client.post(f"/entities/{b['entity_id']}/flags/shadow/clear", json={"reason": "误判"}, headers=MARKET)
    client.post("/ledgers/street-420102010/submit", headers=JIANGAN)
    client.post("/ledgers/street-420102010/return", json={"reasons": ["核对职工人数"]}, headers=CITY)
    client.post("/ledgers/street-420102010/submit", headers=JIANGAN)
    client.post("/ledgers/street-420102010/approve", headers=CITY)
    imported = client.post("/imports/form1", files={"file": ("a.xlsx", xlsx(form1_rows(3)), "application/octet-stream")},
                           headers=CITY).json()
    assert imported["imported"] == 3

    producer = create_producer(settings.kafka_bootstrap, "registry-test-relay")
    try:
        published = OutboxRelay(engine, schema, producer).publish_batch()
    finally:
        producer.close()
    assert published == 2 + 1 + 2 + 4 + 3
    records = read_topic(settings.kafka_bootstrap, topic, expected=published)
    registry = event_types_for("registry")
    envelopes = [registry.upcast(EventEnvelope.from_bytes(r.value)) for r in records]
    by_type = {}
    for envelope in envelopes:
        registry.validate_payload(envelope.type, envelope.payload)  # every payload meets its schema
        by_type.setdefault(envelope.type, []).append(envelope)
    assert sorted(by_type) == ["EntityFlagCleared", "EntityFlagged", "EntityProfileUpdated", "EntityRegistered",
                               "LedgerApproved", "LedgerReturned", "LedgerSubmitted"]
    registered = next(e for e in by_type["EntityRegistered"] if e.stream_id == a["entity_id"])
    assert registered.payload["entity_id"] == registered.stream_id
    assert {"uscc", "name", "kind", "subtype", "district_code", "street_code", "industry", "employees",
            "formal_members", "probationary_members", "level", "supervising_department"} <= set(registered.payload)
    assert by_type["EntityProfileUpdated"][0].payload == {"entity_id": a["entity_id"], "changed": ["formal_members"],
                                                          "formal_members": 5}
    flagged = by_type["EntityFlagged"][0].payload
    assert (flagged["flag"], flagged["duplicate_of"]) == ("shadow", a["entity_id"])
    approved = by_type["LedgerApproved"][0]
    assert approved.stream_id == "ledger-street-420102010"
    assert approved.payload["unit"] == "street-420102010" and set(approved.payload["entity_ids"]) == {
        a["entity_id"], b["entity_id"]}
    assert [e.payload["submission"] for e in by_type["LedgerSubmitted"]] == [1, 2]
    assert all(r.key == EventEnvelope.from_bytes(r.value).stream_id.encode() for r in records)
