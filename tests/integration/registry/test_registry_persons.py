"""Entities' persons sealed out of the registry's events, shown only within scope, erased by crypto-shredding;
entities registered before sealing, and master key rotation. On the real PostgreSQL."""

import json
import uuid

import pytest
import sqlalchemy as sa
from registry_api_support import client, count, enterprise, isolated, schema, token  # noqa: F401 (fixtures)
from registry_sheets import form1_rows, xlsx
from support import ScratchApps

from platform_core.settings import PlatformSettings

pytestmark = pytest.mark.integration

OWN = token("district_org", "420102")
OUTSIDERS = {"inspector": token("inspector"), "other district": token("district_org", "420111"),
             "market regulation": token("market_regulation"), "civil affairs": token("civil_affairs")}
PERSONS = ("person_in_charge", "person_in_charge_is_member", "legal_representative", "address")


def people(tag: str) -> dict:
    return {"person_in_charge": f"闻人{tag}", "person_in_charge_is_member": True, "legal_representative": f"皇甫{tag}",
            "address": f"沿江大道{tag}号"}


def stored(engine, schema: str, entity_id: str) -> bytes:
    """Everything the registry's event store and read row hold for the entity, as bytes."""
    with engine.connect() as conn:
        events = b"".join(bytes(row[0]) for row in conn.execute(sa.text(
            f"SELECT canonical || convert_to(payload::text, 'UTF8') FROM {schema}.events WHERE stream_id = :e"),
            {"e": entity_id}))
        row = conn.execute(sa.text(f"SELECT convert_to(facts::text || coalesce(address_key, '') ||"
                                   f" coalesce(person_key, ''), 'UTF8') FROM {schema}.entities WHERE entity_id = :e"),
                           {"e": entity_id}).scalar_one()
    return events + bytes(row)


def values_in(data: bytes, person: dict) -> list[str]:
    return [v for v in (person["person_in_charge"], person["legal_representative"], person["address"])
            if v.encode() in data or json.dumps(v).strip('"').encode() in data]


def test_events_carry_a_reference_and_hashes_and_only_the_entitys_departments_see_the_values(client, engine, schema):
    person = people(uuid.uuid4().hex[:6])
    created = client.post("/entities", json=enterprise(**person), headers=OWN)
    assert created.status_code == 201, created.text
    entity = created.json()
    assert {k: entity[k] for k in PERSONS} == person and entity["personal_data"]["status"] == "shown"
    assert values_in(stored(engine, schema, entity["entity_id"]), person) == []
    history = client.get(f"/entities/{entity['entity_id']}/history", headers=OUTSIDERS["inspector"]).json()
    sealed = history[0]["payload"]["personal_data"]
    assert sealed["ref"] == entity["personal_data"]["ref"] and len(sealed["person_in_charge_hash"]) == 64
    assert not set(PERSONS) & set(history[0]["payload"])
    for who, headers in OUTSIDERS.items():
        for answer in (client.get(f"/entities/{entity['entity_id']}", headers=headers).json(),
                       client.get(f"/entities/by-uscc/{entity['uscc']}", headers=headers).json(),
                       client.get("/entities", params={"name": entity["name"]}, headers=headers).json()["items"][0]):
            assert {k: answer[k] for k in PERSONS} == dict.fromkeys(PERSONS), who
            assert answer["personal_data"] == entity["personal_data"] | {"status": "withheld"}, who
    assert client.get(f"/entities/{entity['entity_id']}", headers=token("city_org")).json()["person_in_charge"] == \
        person["person_in_charge"]


def test_a_change_of_the_persons_reseals_them_and_other_changes_leave_them(client, engine, schema):
    person = people(uuid.uuid4().hex[:6])
    entity = client.post("/entities", json=enterprise(**person), headers=OWN).json()
    path = f"/entities/{entity['entity_id']}"
    moved = client.patch(path, json={"address": "解放大道1号"}, headers=OWN).json()
    assert moved["address"] == "解放大道1号" and moved["person_in_charge"] == person["person_in_charge"]
    assert moved["personal_data"]["ref"] == entity["personal_data"]["ref"]
    assert moved["personal_data"]["address_hash"] != entity["personal_data"]["address_hash"]
    flipped = client.patch(path, json={"person_in_charge_is_member": False}, headers=OWN).json()
    assert flipped["person_in_charge_is_member"] is False
    counted = client.patch(path, json={"employees": 7}, headers=OWN).json()
    assert counted["employees"] == 7 and counted["personal_data"] == flipped["personal_data"]
    assert client.patch(path, json={"address": "解放大道1号"}, headers=OWN).status_code == 422  # no change
    history = client.get(f"{path}/history", headers=OWN).json()
    assert [e["payload"]["changed"] for e in history[1:]] == [["personal_data"], ["personal_data"], ["employees"]]
    assert values_in(stored(engine, schema, entity["entity_id"]), person | {"address": "解放大道1号"}) == []


def test_erasure_shreds_the_record_and_every_read_shows_the_persons_erased(client, engine, schema):
    person = people(uuid.uuid4().hex[:6])
    entity = client.post("/entities", json=enterprise(**person), headers=OWN).json()
    path = f"/entities/{entity['entity_id']}/personal-data/erase"
    for who, headers in OUTSIDERS.items():
        assert client.post(path, json={"reason": "consent_withdrawn"}, headers=headers).status_code == 403, who
    bad = client.post(path, json={"reason": person["person_in_charge"]}, headers=OWN)
    assert bad.status_code == 422 and person["person_in_charge"] not in bad.text
    erased = client.post(path, json={"reason": "consent_withdrawn"}, headers=OWN)
    assert erased.status_code == 200, erased.text
    assert client.post(path, json={"reason": "consent_withdrawn"}, headers=OWN).status_code == 409
    for headers in (OWN, token("city_org"), OUTSIDERS["inspector"]):
        answer = client.get(f"/entities/{entity['entity_id']}", headers=headers).json()
        assert {k: answer[k] for k in PERSONS} == dict.fromkeys(PERSONS)
        view = answer["personal_data"]
        assert view["status"] == "erased" and view["erased_at"] and view["ref"] == entity["personal_data"]["ref"]
        assert view["person_in_charge_hash"] is None and view["address_hash"] is None
    ref = entity["personal_data"]["ref"]
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {schema}.personal_data_keys WHERE subject_id = :r"),
                            {"r": ref}).scalar() == 0
        row = conn.execute(sa.text(f"SELECT sealed, erasure_reason FROM {schema}.entity_persons"
                                   f" WHERE persons_ref = :r"), {"r": ref}).one()
        assert tuple(row) == (None, "consent_withdrawn")
        event = conn.execute(sa.text(f"SELECT payload FROM {schema}.events WHERE stream_id = :e AND"
                                     " type = 'EntityPersonalDataErased'"), {"e": entity["entity_id"]}).scalar_one()
    assert event == {"entity_id": entity["entity_id"], "personal_data_ref": ref, "reason": "consent_withdrawn"}
    assert count(engine, schema, "entities", f"entity_id = '{entity['entity_id']}' AND address_key IS NULL"
                                             " AND person_key IS NULL AND facts->'personal_data' = 'null'") == 1
    # A new person in charge later: a new record, readable again.
    renewed = client.patch(f"/entities/{entity['entity_id']}", json={"person_in_charge": "新负责人"}, headers=OWN).json()
    assert renewed["person_in_charge"] == "新负责人" and renewed["legal_representative"] is None
    assert renewed["personal_data"]["status"] == "shown" and renewed["personal_data"]["ref"] != ref


def test_imported_rows_are_sealed_on_the_way_in(client, engine, schema):
    rows = form1_rows(3)
    imported = client.post("/imports/form1", files={"file": ("附表1.xlsx", xlsx(rows), "application/octet-stream")},
                           headers=token("city_org"))
    assert imported.status_code == 201, imported.text
    entity = client.get(f"/entities/by-uscc/{rows[1][2]}", headers=token("city_org")).json()
    assert (entity["person_in_charge"], entity["legal_representative"], entity["address"]) == \
        (rows[1][14], rows[1][16], rows[1][6])
    with engine.connect() as conn:
        events = b"".join(bytes(r[0]) for r in conn.execute(sa.text(
            f"SELECT canonical FROM {schema}.events WHERE payload->>'import_id' = :i"),
            {"i": imported.json()["import_id"]}))
    assert all(row[16].encode() not in events and row[6].encode() not in events for row in rows)


@pytest.fixture
def scratch(engine, tmp_path):
    """A registry app over a scratch schema whose master key ring is the given text."""
    apps = ScratchApps(engine, "registry")

    def app_with(ring: str):
        key_file = tmp_path / f"ring-{len(apps.clients)}"
        key_file.write_text(ring)
        return apps.start(PlatformSettings(registry_personal_data_key_file=key_file))

    yield app_with
    apps.close()


OLD, NEW = "registry-old-master-key-0123456789", "registry-new-master-key-9876543210"


def test_rotation_rewraps_and_rehashes_so_the_old_master_key_can_be_retired(scratch):
    from registry.bootstrap import rotate_personal_data_key

    old = scratch(OLD)
    person = people(uuid.uuid4().hex[:6])
    first = old.post("/entities", json=enterprise(name="武汉轮换示例科技有限公司", **person), headers=OWN).json()
    gone = old.post("/entities", json=enterprise(**people("x")), headers=OWN).json()
    assert old.post(f"/entities/{gone['entity_id']}/personal-data/erase", json={"reason": "retention_expired"},
                    headers=OWN).status_code == 200
    done = rotate_personal_data_key(scratch(f"# newest first\n{NEW}\n{OLD}\n").app.state.context)
    assert done == {"data keys re-wrapped": 1, "entities rehashed": 1}
    new = scratch(NEW)
    again = new.get(f"/entities/{first['entity_id']}", headers=OWN).json()
    assert {k: again[k] for k in PERSONS} == person
    assert again["personal_data"]["hash_key"] != first["personal_data"]["hash_key"]
    assert again["personal_data"]["address_hash"] != first["personal_data"]["address_hash"]
    # shadow detection compares the rehashed rows with new registrations' hashes
    copy = new.post("/entities", json=enterprise(name="武汉轮换示例科技有限责任公司", **person), headers=OWN).json()
    candidates = new.get("/shadow-candidates", headers=token("market_regulation")).json()
    assert any(c["entity_id"] == copy["entity_id"] and c["candidate_of"] == first["entity_id"] for c in candidates)


def test_entities_registered_before_sealing_are_sealed_when_the_service_starts(scratch, engine):
    first = scratch(OLD)
    schema = first.app.state.context.schema
    entity = first.post("/entities", json=enterprise(), headers=OWN).json()
    person = people(uuid.uuid4().hex[:6])
    with engine.begin() as conn:  # the read row as it was written before sealing: persons in clear, no record
        facts = conn.execute(sa.text(f"SELECT facts FROM {schema}.entities WHERE entity_id = :e"),
                             {"e": entity["entity_id"]}).scalar_one()
        facts = {k: v for k, v in facts.items() if k != "personal_data"} | person
        conn.execute(sa.text(f"UPDATE {schema}.entities SET facts = CAST(:f AS JSONB), persons_ref = NULL,"
                             " address_key = 'x', person_key = 'y' WHERE entity_id = :e"),
                     {"f": json.dumps(facts, ensure_ascii=False), "e": entity["entity_id"]})
    restarted = scratch(OLD)
    shown = restarted.get(f"/entities/{entity['entity_id']}", headers=OWN).json()
    assert {k: shown[k] for k in PERSONS} == person and shown["personal_data"]["status"] == "shown"
    assert shown["personal_data"]["ref"] != entity["personal_data"]["ref"]
    assert values_in(stored(engine, schema, entity["entity_id"]).split(b"}", 1)[-1], person) == []
    assert restarted.patch(f"/entities/{entity['entity_id']}", json={"employees": 3}, headers=OWN).json()[
        "person_in_charge"] == person["person_in_charge"]  # a later change keeps the sealed record
