"""R3 review of joint organizations (pure): unit-count and age thresholds from the campaign calendar."""

import uuid
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from formation.domain.model import EntityFacts, Organization
from formation.domain.review import joint_review
from platform_core.reference import JointReviewPolicy, load_calendar

TODAY = date(2016, 12, 1)
POLICY = JointReviewPolicy(max_units=5, max_age_days=365)


def joint(units: int, age_days: int, mode: str = "joint", dissolved: bool = False) -> Organization:
    return Organization(f"organization-{uuid.uuid4()}", "联合支部", mode, "420102", None,
                        tuple(f"entity-{uuid.uuid4()}" for _ in range(units)), {}, TODAY - timedelta(days=age_days),
                        TODAY if dissolved else None)


def test_the_calendar_file_carries_the_defaults_with_their_reasons():
    policy = load_calendar().joint_review
    assert (policy.max_units, policy.max_age_days) == (5, 365)
    assert "二(四)3" in policy.max_units_reason and "二(四)2" in policy.max_age_reason


def test_boundaries_more_than_five_units_older_than_a_year():
    at_limit, over_units, over_age = joint(5, 365), joint(6, 10), joint(2, 366)
    found = {o["organization_id"]: o["reasons"] for o in joint_review([at_limit, over_units, over_age], {}, POLICY,
                                                                        TODAY)}
    assert found == {over_units.organization_id: ["units"], over_age.organization_id: ["age"]}


@given(st.integers(2, 20), st.integers(0, 800), st.integers(2, 12), st.integers(1, 700))
def test_an_organization_is_listed_exactly_when_a_threshold_is_passed(units, age, max_units, max_age):
    policy = JointReviewPolicy(max_units=max_units, max_age_days=max_age)
    organization = joint(units, age)
    found = joint_review([organization], {}, policy, TODAY)
    expected = [r for r, over in (("units", units > max_units), ("age", age > max_age)) if over]
    assert (found[0]["reasons"] if found else []) == expected
    if found:
        assert found[0]["unit_count"] == units and found[0]["age_days"] == age and found[0]["rule"] == "R3"


def test_only_active_joint_organizations_and_the_units_that_could_stand_alone():
    big = joint(7, 30)
    facts = {e: EntityFacts(e, "non_public_enterprise", formal_members=n) for e, n in zip(big.entity_ids,
                                                                                          (3, 2, 5, 0, 1, 1, 1))}
    found = joint_review([big, joint(9, 30, mode="standalone"), joint(9, 30, dissolved=True)], facts, POLICY, TODAY)
    assert [o["organization_id"] for o in found] == [big.organization_id]
    assert [(u["entity_id"], u["formal_members"]) for u in found[0]["could_stand_alone"]] == [
        (big.entity_ids[0], 3), (big.entity_ids[2], 5)]
    assert "可单独组建" in found[0]["message"]
