"""Entity facts, decisions on entity and ledger streams, scopes, shadows (pure)."""

import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_support import VOCABULARY, enterprise, make_uscc

from platform_core.auth import Forbidden, Principal
from platform_core.contracts import event_types_for
from platform_core.contracts.registry import PERSONAL_FIELDS
from platform_core.vault import PersonalDataVault
from platform_core.envelope import Actor, EventEnvelope
from platform_core.errors import AlreadyExists, ConcurrencyConflict, NotFound, RuleViolation, SchemaViolation
from registry.domain import entity, ledger, policy
from registry.domain.facts import validate_changes, validate_registration
from registry.domain.persons import EMPTY, after_change, hash_inputs, split
from registry.domain.shadow import find_candidates, name_key

DISTRICT = Principal(department="district_org:420102", kind="district_org", user="li", territory="420102")
STREET = Principal(department="street_office:420102002", kind="street_office", user="wu", territory="420102002")
CIVIL = Principal(department="civil_affairs", kind="civil_affairs", user="zhao")
MARKET = Principal(department="market_regulation", kind="market_regulation", user="qian")
CITY = Principal(department="city_org", kind="city_org", user="sun")
COMMITTEE = Principal(department="city_organs_committee", kind="city_organs_committee", user="zhou")
VAULT = PersonalDataVault("registry-unit-test-master-key-0123")


def fields(errors):
    return {error.field for error in errors}


# -- facts -----------------------------------------------------------------------------------------
def test_valid_enterprise_facts_derive_the_district_from_the_street():
    facts, errors = validate_registration(enterprise(), VOCABULARY)
    assert errors == [] and facts["district_code"] == "420102" and facts["street_code"] == "420102002"


@pytest.mark.parametrize("field,value,reason", [
    ("kind", "company", "不是可选值"), ("subtype", "state_owned", "不是可选值"), ("uscc", "123", "应为18位"),
    ("name", " ", "必填"), ("street_code", "420102999", "不是武汉市的街道"), ("industry", "mining", "不是可选值"),
    ("employees", -1, "超出范围"), ("employees", "many", "不是整数"), ("formal_members", 1.5, "不是整数"),
    ("operation_status", "bankrupt", "不是可选值"), ("person_in_charge", None, "必填"),
    ("above_scale", "maybe", "应为是或否"), ("level", "city", "只有社会组织有层级"),
    ("district_code", "420103", "不符"), ("name", "字" * 201, "超过200"),
])
def test_each_bad_field_is_named_with_its_rule(field, value, reason):
    _, errors = validate_registration(enterprise(**{field: value}), VOCABULARY)
    assert field in fields(errors)
    assert any(reason in error.message for error in errors if error.field == field), errors


def test_unknown_fields_are_refused():
    _, errors = validate_registration(enterprise(color="red"), VOCABULARY)
    assert "color" in fields(errors)


def test_no_organization_needs_a_reason():
    _, errors = validate_registration(enterprise(no_organization_reason=None), VOCABULARY)
    assert fields(errors) == {"no_organization_reason"}
    _, errors = validate_registration(enterprise(no_organization_reason=None, party_organization="standalone"),
                                      VOCABULARY)
    assert errors == []


def test_social_organizations_need_a_level_and_a_known_supervising_unit():
    social = enterprise(kind="social_organization", subtype="private_school", level=None)
    assert "level" in fields(validate_registration(social, VOCABULARY)[1])
    social.update(level="city", supervising_department="nobody")
    errors = validate_registration(social, VOCABULARY)[1]
    assert [e.rule for e in errors if e.field == "supervising_department"] == ["R8"]
    social["supervising_department"] = "education"
    assert validate_registration(social, VOCABULARY)[1] == []


def test_profile_changes_accept_only_updatable_fields():
    changes, errors = validate_changes({"employees": 50, "formal_members": 2}, VOCABULARY)
    assert errors == [] and changes == {"employees": 50, "formal_members": 2}
    _, errors = validate_changes({"uscc": make_uscc(), "kind": "rural_entity"}, VOCABULARY)
    assert fields(errors) == {"uscc", "kind"}
    assert fields(validate_changes({}, VOCABULARY)[1]) == {"changes"}


# -- entity decisions ----------------------------------------------------------------------------
def registered(**overrides) -> entity.EntityState:
    facts, errors = validate_registration(enterprise(**overrides), VOCABULARY)
    assert errors == []
    entity_id = entity.new_entity_id()
    events = entity.decide_register(entity_id, facts)
    return entity.replay(entity_id, [(e.type, e.payload) for e in events])


def test_registration_event_carries_the_contract_fields():
    state = registered()
    (event,) = entity.decide_register(state.entity_id, state.facts)
    for name in ("entity_id", "uscc", "name", "kind", "subtype", "district_code", "street_code", "industry",
                 "employees", "formal_members", "probationary_members", "level", "supervising_department"):
        assert name in event.payload
    assert event.payload["entity_id"].startswith("entity-")


def test_update_carries_only_changed_fields():
    state = registered(employees=120)
    (event,) = entity.decide_update(state, {"employees": 150, "formal_members": 3})
    assert event.payload == {"entity_id": state.entity_id, "changed": ["employees"], "employees": 150}
    after = entity.evolve(state, event.type, event.payload)
    assert after.facts["employees"] == 150 and after.version == 2


def test_update_without_change_is_refused():
    state = registered(employees=120)
    with pytest.raises(RuleViolation, match="无变化"):
        entity.decide_update(state, {"employees": 120})


def test_update_clearing_the_reason_while_without_organization_is_refused():
    state = registered()
    with pytest.raises(SchemaViolation, match="未建党组织的须填写原因"):
        entity.decide_update(state, {"no_organization_reason": None})


def test_unregistered_entity_is_not_found():
    with pytest.raises(NotFound):
        entity.decide_update(entity.EntityState("entity-x"), {"employees": 1})


def test_flags_and_clearing():
    state = registered()
    (flagged,) = entity.decide_flag(state, "zombie", "三年未年报", None)
    state = entity.evolve(state, flagged.type, flagged.payload)
    assert set(state.flags) == {"zombie"}
    with pytest.raises(AlreadyExists):
        entity.decide_flag(state, "zombie", "again", None)
    (cleared,) = entity.decide_clear_flag(state, "zombie", "已恢复经营")
    state = entity.evolve(state, cleared.type, cleared.payload)
    assert state.flags == {}
    with pytest.raises(RuleViolation, match="没有"):
        entity.decide_clear_flag(state, "zombie", "x")


def test_a_shadow_links_to_the_registration_it_duplicates():
    original, copy = registered(), registered()
    with pytest.raises(SchemaViolation, match="duplicate_of"):
        entity.decide_flag(copy, "shadow", "重复注册", None)
    with pytest.raises(RuleViolation, match="自身"):
        entity.decide_flag(copy, "shadow", "重复注册", copy)
    (event,) = entity.decide_flag(copy, "shadow", "重复注册", original)
    assert event.payload["duplicate_of"] == original.entity_id
    with pytest.raises(SchemaViolation, match="只有影子企业"):
        entity.decide_flag(copy, "shell", "空壳", original)


def test_only_enterprises_are_flagged():
    social = registered(kind="social_organization", subtype="law_firm", level="district")
    with pytest.raises(RuleViolation) as caught:
        entity.decide_flag(social, "shell", "空壳", None)
    assert caught.value.rule == "R1"


# -- ledgers ---------------------------------------------------------------------------------------
def unit(code):
    return ledger.parse_unit(code, VOCABULARY.territory, VOCABULARY.departments)


def test_units_parse_and_reject_unknown_codes():
    assert unit("street-420191001").kind == "street"
    assert unit("district-420111-social").district_code == "420111"
    assert unit("supervisor-education").supervisor == "education"
    for bad in ("street-999999999", "district-420199-enterprise", "supervisor-nobody", "ward-1", ""):
        with pytest.raises(SchemaViolation):
            unit(bad)


def test_ledger_lifecycle_submit_return_resubmit_approve():
    street = unit("street-420102002")
    state = ledger.LedgerState(street.code)
    with pytest.raises(RuleViolation, match="空台帐"):
        ledger.decide_submit(state, street, [])
    with pytest.raises(RuleViolation):
        ledger.decide_approve(state, street)
    ids = [f"entity-{i:036d}" for i in range(3)]
    for event in ledger.decide_submit(state, street, ids):
        state = ledger.evolve(state, event.type, event.payload)
    assert state.status == "submitted" and state.submission == 1
    with pytest.raises(ConcurrencyConflict):
        ledger.decide_submit(state, street, ids)
    with pytest.raises(SchemaViolation):
        ledger.decide_return(state, street, [" "])
    (returned,) = ledger.decide_return(state, street, ["缺少2家企业"])
    state = ledger.evolve(state, returned.type, returned.payload)
    assert state.status == "returned" and state.reasons == ("缺少2家企业",)
    for event in ledger.decide_submit(state, street, ids + ["entity-" + "9" * 36]):
        state = ledger.evolve(state, event.type, event.payload)
    assert state.submission == 2 and len(state.submitted) == 4
    (approved,) = ledger.decide_approve(state, street)
    assert approved.payload["entity_ids"] == sorted(ids + ["entity-" + "9" * 36])
    state = ledger.evolve(state, approved.type, approved.payload)
    assert state.status == "approved" and len(state.approved) == 4
    with pytest.raises(RuleViolation, match="没有新登记"):
        ledger.decide_submit(state, street, list(state.approved))


def test_large_ledgers_are_split_into_parts():
    district = unit("district-420102-enterprise")
    ids = [f"entity-{i:036d}" for i in range(2500)]
    events = ledger.decide_submit(ledger.LedgerState(district.code), district, ids)
    assert [(e.payload["part"], e.payload["parts"], len(e.payload["entity_ids"])) for e in events] == [
        (1, 3, 1000), (2, 3, 1000), (3, 3, 500)]
    state = ledger.replay(district.code, [(e.type, e.payload) for e in events])
    assert len(state.submitted) == 2500


def test_unit_membership_rules():
    social_city = {"kind": "social_organization", "level": "city", "supervising_department": None,
                   "district_code": "420102", "street_code": "420102002"}
    assert unit("civil-affairs").holds(social_city)
    assert not unit("city-organs").holds(social_city)
    supervised = {**social_city, "supervising_department": "education"}
    assert unit("supervisor-education").holds(supervised) and unit("city-organs").holds(supervised)
    rural = {"kind": "rural_entity", "district_code": "420102", "street_code": "420102002"}
    assert unit("street-420102002").holds(rural) and unit("district-420102-enterprise").holds(rural)


# -- scopes ----------------------------------------------------------------------------------------
def facts(**overrides):
    return validate_registration(enterprise(**overrides), VOCABULARY)[0]


def test_territorial_departments_register_only_in_their_territory():
    policy.require_register(DISTRICT, facts())
    policy.require_register(STREET, facts())
    with pytest.raises(Forbidden, match="only in territory"):
        policy.require_register(DISTRICT, facts(street_code="420111001"))
    with pytest.raises(Forbidden):
        policy.require_register(STREET, facts(street_code="420102003"))


def test_civil_affairs_registers_social_organizations_only():
    city_social = facts(kind="social_organization", subtype="social_group", level="city")
    policy.require_register(CIVIL, city_social)
    with pytest.raises(Forbidden, match="民政部门只登记社会组织"):
        policy.require_register(CIVIL, facts())
    with pytest.raises(Forbidden, match="市级社会组织"):
        policy.require_register(DISTRICT, city_social)


def test_only_market_regulation_flags():
    policy.require_flag(MARKET, facts(), "entity-x")
    for other in (DISTRICT, CIVIL, CITY):
        with pytest.raises(Forbidden):
            policy.require_flag(other, facts(), "entity-x")


def test_ledger_submitters_and_reviewers():
    policy.require_ledger_submit(STREET, unit("street-420102002"))
    policy.require_ledger_submit(DISTRICT, unit("district-420102-social"))
    policy.require_ledger_submit(CIVIL, unit("civil-affairs"))
    policy.require_ledger_submit(COMMITTEE, unit("city-organs"))
    policy.require_ledger_submit(COMMITTEE, unit("supervisor-justice"))
    policy.require_ledger_submit(Principal(department="justice", kind="justice", user="a"), unit("supervisor-justice"))
    for principal, code in ((STREET, "district-420102-enterprise"), (DISTRICT, "street-420111001"),
                            (CIVIL, "city-organs"), (CITY, "street-420102002"),
                            (Principal(department="tax", kind="tax", user="b"), "supervisor-justice")):
        with pytest.raises(Forbidden):
            policy.require_ledger_submit(principal, unit(code))
    policy.require_ledger_review(CITY, unit("civil-affairs"), "ledger.approve")
    with pytest.raises(Forbidden):
        policy.require_ledger_review(DISTRICT, unit("street-420102002"), "ledger.approve")


# -- shadows ---------------------------------------------------------------------------------------
def test_name_key_ignores_width_spaces_and_company_form():
    assert name_key("武汉 光谷（示例）科技有限公司") == name_key("武汉光谷(示例)科技有限责任公司")


def keyed(entity_id: str, name: str, address: str, legal_representative: str) -> dict:
    """An entity as shadow detection sees it: name, and keyed hashes of the normalized address and person."""
    inputs = hash_inputs({"address": address, "legal_representative": legal_representative})
    return {"entity_id": entity_id, "name": name, "address_key": VAULT.keyed_hash(*inputs["address_hash"]),
            "person_key": VAULT.keyed_hash(*inputs["legal_representative_hash"])}


def test_shadow_candidates_need_a_similar_name_and_a_shared_address_or_representative():
    new = keyed("entity-b", "武汉光谷示例科技有限公司", "关山大道 1号", "王五")
    same_address = keyed("entity-a", "武汉光谷示例科技有限责任公司", "关山大道1号", "赵六")
    only_name = keyed("entity-c", "武汉光谷示例科技有限公司", "别处", "钱七")
    other_name = keyed("entity-d", "武汉长江物流有限公司", "关山大道1号", "王五")
    same_person = keyed("entity-e", "武汉光谷示例科技公司", "别处", "王 五")
    found = find_candidates(new, [same_address, only_name, other_name, same_person])
    assert [(c.candidate_of, c.reasons) for c in found] == [("entity-a", ("名称相同", "地址相同")),
                                                          ("entity-e", ("名称相同", "法定代表人相同"))]


# -- persons (sealed out of events) ------------------------------------------------------------------
def test_split_keeps_the_persons_out_of_the_facts_events_carry():
    clear, people = split(enterprise())
    assert set(people) == set(PERSONAL_FIELDS) and not set(clear) & set(PERSONAL_FIELDS)


@settings(max_examples=50)
@given(st.fixed_dictionaries({}, optional={name: st.one_of(st.none(), st.text(max_size=6)) for name in
                                           ("person_in_charge", "legal_representative", "address")}),
       st.fixed_dictionaries({}, optional={"person_in_charge": st.text(min_size=1, max_size=6),
                                           "person_in_charge_is_member": st.booleans(),
                                           "address": st.one_of(st.none(), st.text(max_size=6))}))
def test_a_change_reseals_the_persons_exactly_when_it_changes_one_of_them(current, changes):
    current = {**EMPTY, **current}
    after = after_change(current, changes)
    if any(current[k] != v for k, v in changes.items()):
        assert after == {**current, **changes}
    else:
        assert after is None
    assert after_change(None, changes) == ({**EMPTY, **changes} if changes else None)  # erased: a new record


@settings(max_examples=50)
@given(st.text(alphabet="张三李四王五 （）()·", min_size=1, max_size=8))
def test_one_person_written_with_other_spacing_or_width_has_one_hash(name):
    spaced = " ".join(name).replace("(", "（")
    a = hash_inputs({"person_in_charge": name, "legal_representative": spaced})
    same = (a["person_in_charge_hash"] is None) == (a["legal_representative_hash"] is None)
    assert same and a["person_in_charge_hash"] == a["legal_representative_hash"]


def test_the_persons_are_read_by_who_registers_or_surveys_the_entity_and_organization_departments_in_territory():
    facts = enterprise()  # street 420102002
    readers = [DISTRICT, STREET, CITY]
    others = [CIVIL, MARKET, COMMITTEE, Principal("inspector", "inspector", "x"),
              Principal("district_org:420103", "district_org", "y", territory="420103"),
              Principal("street_office:420102003", "street_office", "z", territory="420102003")]
    assert [policy.may_read_persons(p, facts) for p in readers] == [True] * len(readers)
    assert [policy.may_read_persons(p, facts) for p in others] == [False] * len(others)
    city_social = enterprise(kind="social_organization", subtype="social_group", level="city",
                             supervising_department="education")
    assert policy.may_read_persons(COMMITTEE, city_social) and policy.may_read_persons(CIVIL, city_social)
    assert not policy.may_read_persons(STREET, city_social)


def test_erasure_is_decided_once_and_leaves_the_entity_without_persons():
    state = entity.replay("entity-1", [("EntityRegistered", {"entity_id": "entity-1", **split(enterprise())[0],
                                                             "personal_data": {"ref": "persons-1"}})])
    decided = entity.decide_erase(state, "persons-1", "consent_withdrawn")
    assert decided[0].payload == {"entity_id": "entity-1", "personal_data_ref": "persons-1",
                                  "reason": "consent_withdrawn"}
    after = entity.evolve(state, decided[0].type, decided[0].payload)
    assert after.facts["personal_data"] is None and after.version == 2
    with pytest.raises(AlreadyExists):
        entity.decide_erase(after, None, "consent_withdrawn")
    with pytest.raises(NotFound):
        entity.decide_erase(entity.EntityState("entity-2"), "persons-2", "consent_withdrawn")


# -- R5: staffed mainly by 机关事业单位人员 -------------------------------------------------------------
def _society(**overrides) -> dict:
    return enterprise(kind="social_organization", subtype="social_group", level="city", industry="social_services",
                      **overrides)


@pytest.mark.parametrize("value", [True, False, None])
def test_public_sector_staffed_is_a_survey_fact_of_social_organizations(value):
    facts, errors = validate_registration(_society(public_sector_staffed=value), VOCABULARY)
    assert errors == [] and facts["public_sector_staffed"] is value
    clear, _ = split(facts)  # the persons go to the registry's sealed table, not into the event
    (event,) = entity.decide_register(entity.new_entity_id(), {**clear, "personal_data": None})
    version, payload = event_types_for("registry").validate_payload(event.type, event.payload)
    assert version == 2 and payload["public_sector_staffed"] is value


def test_an_enterprise_has_no_public_sector_staffing_fact():
    _, errors = validate_registration(enterprise(public_sector_staffed=True), VOCABULARY)
    assert [(e.field, e.rule) for e in errors] == [("public_sector_staffed", "R5")]
    facts, errors = validate_registration(enterprise(), VOCABULARY)
    assert errors == [] and facts["public_sector_staffed"] is None  # not surveyed
    state = registered()
    with pytest.raises(SchemaViolation, match="只有社会组织填写"):
        entity.decide_update(state, {"public_sector_staffed": True})


def test_the_staffing_fact_is_updated_like_any_survey_fact():
    changes, errors = validate_changes({"public_sector_staffed": True}, VOCABULARY)
    assert errors == [] and changes == {"public_sector_staffed": True}
    facts, _ = validate_registration(_society(), VOCABULARY)
    state = entity.replay("entity-x", [("EntityRegistered", {"entity_id": "entity-x", **facts})])
    (event,) = entity.decide_update(state, changes)
    assert event.payload == {"entity_id": "entity-x", "changed": ["public_sector_staffed"], "public_sector_staffed": True}


def test_old_registrations_are_upcast_with_the_fact_not_surveyed():
    facts, _ = validate_registration(enterprise(), VOCABULARY)
    v1 = {k: v for k, v in {"entity_id": f"entity-{uuid.uuid4()}", **facts}.items() if k != "public_sector_staffed"}
    v1["person_in_charge_is_member"] = bool(v1["person_in_charge_is_member"])  # version 1 carried the persons
    now = datetime.now(timezone.utc)
    old = EventEnvelope(event_id=uuid.uuid4(), type="EntityRegistered", schema_version=1, stream_id=v1["entity_id"],
                        stream_version=1, occurred_at=now, recorded_at=now, actor=Actor(department="x", user="y"),
                        payload=v1)
    types = event_types_for("registry")
    types.validate_payload("EntityRegistered", v1, 1)
    upcast = types.upcast(old)
    assert upcast.schema_version == 2 and upcast.payload["public_sector_staffed"] is None
    assert upcast.payload["personal_data"] is None and not set(PERSONAL_FIELDS) & set(upcast.payload)
