"""registry.events: version 2 keeps the persons out of clear; version 1 events are upcast without them (pure)."""

import uuid
from datetime import datetime, timezone

import pytest

from platform_core.contracts import event_types_for
from platform_core.contracts.registry import PERSONAL_FIELDS
from platform_core.envelope import Actor, EventEnvelope
from platform_core.errors import SchemaViolation

REGISTRY = event_types_for("registry")
ENTITY = f"entity-{uuid.uuid4()}"
FACTS = {"entity_id": ENTITY, "uscc": "91420100MA4KL0001X", "name": "武汉示例科技有限公司", "kind": "non_public_enterprise",
         "subtype": "private", "district_code": "420102", "street_code": "420102002", "industry": "internet",
         "employees": 120, "formal_members": 4, "probationary_members": 0, "operation_status": "operating",
         "party_organization": "none", "no_organization_reason": "正在筹建"}
CLEAR = {"person_in_charge": "张三", "person_in_charge_is_member": True, "legal_representative": "李四",
         "address": "中山大道1号"}
SEALED = {"ref": f"persons-{uuid.uuid4()}", "hash_key": "0123456789abcdef", "person_in_charge_hash": "a" * 64,
          "legal_representative_hash": None, "address_hash": "b" * 64}


def envelope(event_type: str, payload: dict, version: int) -> EventEnvelope:
    now = datetime.now(timezone.utc)
    return EventEnvelope(event_id=uuid.uuid4(), type=event_type, schema_version=version, stream_id=ENTITY,
                         stream_version=1, occurred_at=now, recorded_at=now,
                         actor=Actor(department="district_org:420102", user="t"), payload=payload)


def test_a_version_1_registration_is_read_without_its_persons():
    upcast = REGISTRY.upcast(envelope("EntityRegistered", FACTS | CLEAR, 1))
    assert upcast.schema_version == 2 and not set(PERSONAL_FIELDS) & set(upcast.payload)
    assert upcast.payload["personal_data"] is None and upcast.payload["employees"] == 120
    REGISTRY.validate_payload("EntityRegistered", upcast.payload)


@pytest.mark.parametrize("changes, changed", [
    ({"person_in_charge": "王五", "employees": 7}, ["employees", "personal_data"]),
    ({"address": None}, ["personal_data"]),
    ({"employees": 7}, ["employees"]),
])
def test_a_version_1_profile_update_names_a_change_of_the_persons_without_the_values(changes, changed):
    payload = {"entity_id": ENTITY, "changed": sorted(changes), **changes}
    REGISTRY.validate_payload("EntityProfileUpdated", payload, version=1)
    upcast = REGISTRY.upcast(envelope("EntityProfileUpdated", payload, 1)).payload
    assert upcast["changed"] == changed and not set(PERSONAL_FIELDS) & set(upcast)
    REGISTRY.validate_payload("EntityProfileUpdated", upcast)


def test_version_2_refuses_the_persons_in_clear_and_takes_the_sealed_record():
    REGISTRY.validate_payload("EntityRegistered", FACTS | {"personal_data": SEALED})
    with pytest.raises(SchemaViolation):
        REGISTRY.validate_payload("EntityRegistered", FACTS | CLEAR | {"personal_data": SEALED})
    with pytest.raises(SchemaViolation):
        REGISTRY.validate_payload("EntityProfileUpdated", {"entity_id": ENTITY, "changed": ["address"],
                                                           "address": "中山大道2号"})
    REGISTRY.validate_payload("EntityProfileUpdated", {"entity_id": ENTITY, "changed": ["personal_data"],
                                                       "personal_data": SEALED})
    with pytest.raises(SchemaViolation):
        REGISTRY.validate_payload("EntityProfileUpdated", {"entity_id": ENTITY, "changed": ["personal_data"],
                                                           "personal_data": SEALED | {"address_hash": "中山大道2号"}})


def test_an_erasure_event_names_the_record_and_a_pipl_ground_only():
    REGISTRY.validate_payload("EntityPersonalDataErased", {"entity_id": ENTITY, "personal_data_ref": SEALED["ref"],
                                                           "reason": "consent_withdrawn"})
    with pytest.raises(SchemaViolation):
        REGISTRY.validate_payload("EntityPersonalDataErased", {"entity_id": ENTITY, "personal_data_ref": SEALED["ref"],
                                                               "reason": "张三 asked"})
