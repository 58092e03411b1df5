"""Erasing a member's identity (crypto-shredding), identities sealed before per-member keys, and master key
rotation, on the real PostgreSQL."""

import os
import uuid

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from membership_support import new_id_number, token
from platform_core.settings import PlatformSettings
from support import ScratchApps

OLD_KEY, NEW_KEY = "membership-old-master-key-0123456789", "membership-new-master-key-9876543210"


def found(client, name: str, number: str, entity_id: str, headers=None):
    return client.post("/members/found", headers=headers or token("city_org"), json={
        "name": name, "id_number": number, "standing": "formal", "admitted_on": "2005-07-01",
        "entity_id": entity_id, "organization_id": None})


def personal(client, member_id: str, headers=None):
    """The member's name and identity number, read with a recorded reason (PersonalDataAccessed); None when
    erased (410)."""
    answer = client.post(f"/members/{member_id}/personal-data", json={"reason": "核对党员身份（测试）"},
                         headers=headers or token("city_org"))
    if answer.status_code == 410:
        return None
    assert answer.status_code == 200, answer.text
    return {k: answer.json()[k] for k in ("name", "id_number")}


def test_erasure_shreds_the_key_keeps_the_member_and_shows_the_fields_as_erased(client, place, engine):
    entity, number = place("420102"), new_id_number()
    member_id = found(client, "端木测戊", number, entity).json()["member_id"]
    own = token("district_org", "420102")
    assert personal(client, member_id, own)["name"] == "端木测戊"
    path = f"/members/{member_id}/personal-data/erase"
    for outsider in (token("district_org", "420103"), token("inspector"), token("civil_affairs")):
        assert client.post(path, json={"reason": "consent_withdrawn"}, headers=outsider).status_code == 403
    bad = client.post(path, json={"reason": "端木测戊 asked"}, headers=own)
    assert bad.status_code == 422 and bad.json()["field"].endswith("reason") and "端木测戊" not in bad.text
    assert client.post(path, json={"reason": "consent_withdrawn", "expected_version": 7},
                       headers=own).status_code == 409
    erased = client.post(path, json={"reason": "consent_withdrawn"}, headers=own | {"Idempotency-Key": member_id})
    assert erased.status_code == 200 and erased.json()["events"][0]["type"] == "MemberPersonalDataErased"
    again = client.post(path, json={"reason": "consent_withdrawn"}, headers=own | {"Idempotency-Key": member_id})
    assert again.json() == erased.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.post(path, json={"reason": "purpose_fulfilled"}, headers=own).status_code == 409

    shown = client.get(f"/members/{member_id}", headers=own).json()
    assert personal(client, member_id, own) is None and shown["personal_data_erased"] is True
    assert shown["active"] and shown["entity_id"] == entity  # the member's record and counts stay
    listed = client.get("/members", params={"entity_id": entity}, headers=token("city_org")).text
    assert "端木测戊" not in listed and number not in listed
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM membership.personal_data_keys WHERE subject_id = :m"),
                            {"m": member_id}).scalar() == 0
        row = conn.execute(sa.text("SELECT id_hash, name_sealed, id_number_sealed, erasure_reason FROM"
                                   " membership.member_identities WHERE member_id = :m"), {"m": member_id}).one()
        assert tuple(row) == (None, None, None, "consent_withdrawn")
        payload = conn.execute(sa.text("SELECT payload FROM membership.events WHERE stream_id = :m AND"
                                       " type = 'MemberPersonalDataErased'"), {"m": member_id}).scalar_one()
    assert payload == {"member_id": member_id, "reason": "consent_withdrawn"}
    # Nothing is left to recognize the person by: registering them again is a new member.
    again = found(client, "端木测戊", number, entity)
    assert again.status_code == 201 and again.json()["member_id"] != member_id


@pytest.fixture
def scratch(engine):
    """A membership app over a scratch schema, with the master key ring it is given."""
    apps = ScratchApps(engine, "membership")
    yield lambda ring: apps.start(PlatformSettings(personal_data_key=ring))
    apps.close()


def test_rotation_rewraps_every_key_and_rehashes_so_the_old_master_key_can_be_retired(scratch, engine):
    from membership.bootstrap import rotate_personal_data_key

    old = scratch(OLD_KEY)
    entity = f"entity-{uuid.uuid4()}"
    people = {new_id_number(): name for name in ("轩辕测一", "令狐测二", "慕容测三")}
    members = {number: found(old, name, number, entity).json()["member_id"] for number, name in people.items()}
    erased = next(iter(members.values()))
    assert old.post(f"/members/{erased}/personal-data/erase", json={"reason": "retention_expired"},
                    headers=token("city_org")).status_code == 200

    rotating = scratch(f"{NEW_KEY}\n{OLD_KEY}")
    done = rotate_personal_data_key(rotating.app.state.context)
    assert done == {"data keys re-wrapped": 2, "identity hashes recomputed": 2}

    new = scratch(NEW_KEY)  # the old master key retired
    for number, member_id in members.items():
        expected = None if member_id == erased else {"name": people[number], "id_number": number}
        assert personal(new, member_id) == expected
    kept = list(members)[1]
    duplicate = found(new, people[kept], kept, entity)
    assert duplicate.status_code == 409 and members[kept] in duplicate.json()["message"]  # R13 still holds


def test_identities_sealed_before_per_member_keys_are_resealed_when_the_service_starts(scratch, engine):
    first = scratch(OLD_KEY)
    schema = first.app.state.context.schema
    member_id, number, entity = f"member-{uuid.uuid4()}", new_id_number(), f"entity-{uuid.uuid4()}"
    legacy = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=b"campaign-platform/membership/personal-data",
                         info=b"aes-256-gcm v1").derive(OLD_KEY.encode()))

    def seal(field: str, text: str) -> bytes:  # the sealing of the service before per-member keys
        nonce = os.urandom(12)
        return nonce + legacy.encrypt(nonce, text.encode(), f"{member_id}|{field}".encode())

    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {schema}.members (member_id, standing, way, admitted_on, entity_id,"
                             " version) VALUES (:m, 'formal', 'found', '2001-01-01', :e, 1)"),
                     {"m": member_id, "e": entity})
        conn.execute(sa.text(f"INSERT INTO {schema}.member_identities (member_id, id_hash, id_number_sealed,"
                             " name_sealed) VALUES (:m, :h, :n, :a)"),
                     {"m": member_id, "h": os.urandom(32), "n": seal("id_number", number), "a": seal("name", "东方测四")})
    restarted = scratch(OLD_KEY)
    assert personal(restarted, member_id) == {"name": "东方测四", "id_number": number}
    duplicate = found(restarted, "东方测四", number, entity)
    assert duplicate.status_code == 409 and member_id in duplicate.json()["message"]
