"""R2, R2b, R3 and R9 at their boundaries: 49/50 and 99/100 employees, 29/30 staff, 2/3 formal members,
every kind and subtype, and the overdue rule after 11-20 and 12-05 (docs/rules.md)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.rules.closing import overdue_after_formation, overdue_milestone
from platform_core.rules.requirements import (REASONS, member_required, organization_required,
                                              required_reason_code, required_reason_codes)
from platform_core.rules.standalone import must_stand_alone, r3_violation

SUBTYPES = {
    "non_public_enterprise": ["private", "foreign_invested", "hmt_invested", "joint_stock", "other"],
    "social_organization": ["social_group", "private_school", "private_hospital", "law_firm", "accounting_firm",
                            "tax_firm", "other"],
    "rural_entity": ["farmers_cooperative", "family_farm", "other"],
}
INDUSTRIES = ["internet", "cultural_creative", "manufacturing", "other"]


@st.composite
def entity_facts(draw):
    kind = draw(st.sampled_from(sorted(SUBTYPES)))
    return {"kind": kind, "subtype": draw(st.sampled_from(SUBTYPES[kind])),
            "level": draw(st.sampled_from(["city", "district"])) if kind == "social_organization" else None,
            "employees": draw(st.integers(0, 250)), "formal_members": draw(st.integers(0, 6)),
            "above_scale": draw(st.booleans()), "industry": draw(st.sampled_from(INDUSTRIES))}


def oracle(f: dict) -> bool:
    """The plan's R2, written apart from the implementation: 一, 二(四)2, 三(二)."""
    if f["formal_members"] >= 3:  # 凡有3名及以上正式党员的，必须单独建立党组织
        return True
    if f["kind"] == "non_public_enterprise":
        return f["employees"] >= 100
    if f["kind"] == "social_organization":
        return (f["level"] == "city" or f["subtype"] in ("law_firm", "accounting_firm", "tax_firm")
                or (f["subtype"] in ("private_school", "private_hospital") and f["employees"] >= 30))
    return False  # a rural entity "meets the conditions" with 3 formal members, covered above


@given(entity_facts())
def test_required_set_is_the_plans(f):
    reason = organization_required(f)
    assert (reason is not None) == oracle(f)
    code = required_reason_code(f)
    assert (code is None) == (reason is None) and (code is None or REASONS[code] == reason)


@given(entity_facts(), st.integers(0, 250))
def test_enterprise_boundaries_99_100_and_49_50(f, employees):
    f = {**f, "kind": "non_public_enterprise", "subtype": "private", "formal_members": 0, "employees": employees}
    assert (organization_required(f) is not None) == (employees >= 100)
    assert (member_required(f) is not None) == (employees >= 50)


@given(st.sampled_from(["private_school", "private_hospital"]), st.integers(0, 100))
def test_school_and_hospital_boundary_29_30(subtype, staff):
    f = {"kind": "social_organization", "subtype": subtype, "level": "district", "employees": staff,
         "formal_members": 0}
    assert (organization_required(f) is not None) == (staff >= 30)


@given(entity_facts(), st.integers(0, 10))
def test_any_entity_with_three_formal_members_is_required(f, formal):
    f = {**f, "formal_members": formal}
    if formal >= 3:
        assert organization_required(f) is not None
    assert must_stand_alone(formal) == (formal >= 3)


@pytest.mark.parametrize("subtype", SUBTYPES["social_organization"])
def test_every_city_level_social_organization_is_required(subtype):
    f = {"kind": "social_organization", "subtype": subtype, "level": "city", "employees": 0, "formal_members": 0}
    assert required_reason_code(f) == "city_social_organization"


def test_member_requirement_is_for_enterprises_only():
    assert member_required({"kind": "social_organization", "employees": 500}) is None
    assert member_required({"kind": "rural_entity", "employees": 500}) is None


@given(st.integers(0, 10), st.lists(st.sampled_from(["standalone", "joint", "functional"]), max_size=3))
def test_r3_violation_is_three_formal_without_a_standalone_organization(formal, modes):
    assert r3_violation(formal, modes) == (formal >= 3 and "standalone" not in modes)


@given(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.integers(-3, 30))
def test_overdue_edges_of_11_20_and_12_05(required, covered, work, closed, shift):
    formation, acceptance = date(2016, 11, 20), date(2016, 12, 5)
    on = formation + timedelta(days=shift)
    found = overdue_milestone(on, formation, acceptance, required=required, organization_covered=covered,
                              work_covered=work, closed=closed)
    late_formation = not covered and (required or not work)
    if on <= formation:
        assert found is None
    elif on <= acceptance:
        assert found == ("formation" if late_formation else None)
    else:
        assert found == ("formation" if late_formation else "acceptance" if covered and not closed else None)


def test_work_coverage_spares_only_entities_outside_the_required_set():
    assert not overdue_after_formation(required=False, organization_covered=False, work_covered=True)
    assert overdue_after_formation(required=True, organization_covered=False, work_covered=True)
    assert overdue_after_formation(required=False, organization_covered=False, work_covered=False)
    assert not overdue_after_formation(required=True, organization_covered=True, work_covered=False)


def test_survey_deadline_is_judged_per_ledger_unit():
    from platform_core.rules.ledgers import reporting_unit_of, survey_misses

    def enterprise(street: str) -> dict:
        return {"kind": "non_public_enterprise", "district_code": street[:6], "street_code": street}

    entities = [("e1", enterprise("420102001")), ("e2", enterprise("420102002")),
                ("s1", {"kind": "social_organization", "level": "district", "district_code": "420102"}),
                ("c1", {"kind": "social_organization", "level": "city", "supervising_department": "education"}),
                ("c2", {"kind": "social_organization", "level": "city", "supervising_department": None})]
    # One street's ledger no longer clears the whole district.
    assert survey_misses(entities, {"street-420102001"}) == {
        "street-420102002": ["e2"], "district-420102-social": ["s1"], "supervisor-education": ["c1"],
        "civil-affairs": ["c2"]}
    # The district's aggregate covers every street; the committee's aggregate every supervised organization.
    assert survey_misses(entities, {"district-420102-enterprise", "district-420102-social", "city-organs",
                                    "civil-affairs"}) == {}
    assert [reporting_unit_of(f) for _, f in entities] == [
        "district-420102", "district-420102", "district-420102", "city-organs", "civil-affairs"]


def reasons_oracle(f: dict) -> set[str]:
    """Every R2 reason, each written apart from the implementation (segments count an entity under each)."""
    found = set()
    enterprise, social = f["kind"] == "non_public_enterprise", f["kind"] == "social_organization"
    if enterprise and f["employees"] >= 100:
        found.add("enterprise_100")
    if enterprise and f["industry"] in ("internet", "cultural_creative") and f["above_scale"] \
            and f["formal_members"] >= 3:
        found.add("large_internet_cultural")
    if social and f["level"] == "city":
        found.add("city_social_organization")
    if social and f["subtype"] in ("private_school", "private_hospital") and f["employees"] >= 30:
        found.add("school_hospital_30")
    if social and f["subtype"] in ("law_firm", "accounting_firm", "tax_firm"):
        found.add("professional_firm")
    if f["kind"] == "rural_entity" and f["formal_members"] >= 3:
        found.add("rural_ready")
    if f["formal_members"] >= 3:
        found.add("formal_members_3")
    return found


@given(entity_facts())
def test_every_reason_is_listed_once_and_the_status_shows_the_first(f):
    codes = required_reason_codes(f)
    assert set(codes) == reasons_oracle(f) and len(set(codes)) == len(codes)
    assert list(codes) == [code for code in REASONS if code in codes]  # REASONS' order of precedence
    assert required_reason_code(f) == (codes[0] if codes else None)


def test_a_large_enterprise_with_three_formal_members_has_two_reasons():
    f = {"kind": "non_public_enterprise", "subtype": "private", "employees": 120, "formal_members": 3,
         "industry": "manufacturing", "above_scale": False}
    assert required_reason_codes(f) == ("enterprise_100", "formal_members_3")
