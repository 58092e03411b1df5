"""R12 at its boundaries: the check windows (11-20/11-21, 12-05/12-06, 12-30/12-31) and who checks what."""

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formation.domain import checks
from formation.domain.model import EntityFacts
from platform_core.auth import PERMISSIONS
from platform_core.errors import RuleViolation
from platform_core.reference import load_calendar

CALENDAR = load_calendar()
KINDS = sorted(PERMISSIONS)
DAYS = st.dates(min_value=date(2016, 8, 14), max_value=date(2017, 1, 31))


def entity(kind="non_public_enterprise", level=None, supervising=None) -> EntityFacts:
    return EntityFacts(f"entity-{uuid.uuid4()}", kind, level=level, supervising_department=supervising,
                       district_code="420102", street_code="420102001")


def test_windows_come_from_the_calendar():
    assert checks.check_window(CALENDAR, "acceptance") == checks.CheckWindow("acceptance", date(2016, 11, 21),
                                                                             date(2016, 12, 5))
    assert checks.check_window(CALENDAR, "spot_check").ends == date(2016, 12, 5)  # 二(七) holds both
    assert checks.check_window(CALENDAR, "look_back") == checks.CheckWindow("look_back", date(2016, 12, 6),
                                                                           date(2016, 12, 30))


@pytest.mark.parametrize("kind, day, inside", [
    ("acceptance", date(2016, 11, 20), False), ("acceptance", date(2016, 11, 21), True),
    ("acceptance", date(2016, 12, 5), True), ("acceptance", date(2016, 12, 6), False),
    ("spot_check", date(2016, 11, 20), False), ("spot_check", date(2016, 12, 5), True),
    ("spot_check", date(2016, 12, 6), False),
    ("look_back", date(2016, 12, 5), False), ("look_back", date(2016, 12, 6), True),
    ("look_back", date(2016, 12, 30), True), ("look_back", date(2016, 12, 31), False),
])
def test_window_edges(kind, day, inside):
    window = checks.check_window(CALENDAR, kind)
    if inside:
        checks.require_in_window(window, day, day)
        return
    with pytest.raises(RuleViolation) as refused:
        checks.require_in_window(window, day, day)
    assert refused.value.rule == "R12" and refused.value.field == "check_kind"
    assert f"{window.starts.isoformat()}..{window.ends.isoformat()}" in refused.value.message


@given(st.sampled_from(["acceptance", "spot_check", "look_back"]), DAYS, DAYS)
def test_a_check_is_accepted_exactly_when_the_business_date_and_the_check_date_lie_in_its_window(kind, today, on):
    window = checks.check_window(CALENDAR, kind)
    try:
        checks.require_in_window(window, today, on)
        accepted = True
    except RuleViolation as refused:
        accepted = False
        assert refused.rule == "R12"
        expected_field = "check_kind" if not window.contains(today) else "checked_on"
        assert refused.field == expected_field
    assert accepted == (window.contains(today) and window.contains(on))


def test_windows_follow_another_campaign_calendar():
    later = load_calendar(overrides={"acceptance": "2016-12-10"})
    window = checks.check_window(later, "acceptance")
    checks.require_in_window(window, date(2016, 12, 10))
    with pytest.raises(RuleViolation, match="2016-11-21..2016-12-10"):
        checks.require_in_window(window, date(2016, 12, 11))


# who may check what (R12 归口分级) -------------------------------------------------------------------
ENTITIES = {
    "enterprise": entity(),
    "rural": entity("rural_entity"),
    "district_social": entity("social_organization", "district"),
    "city_social_unsupervised": entity("social_organization", "city"),
    "city_social_supervised": entity("social_organization", "city", "education"),
}
ACCEPTANCE_BY = {
    "enterprise": {"district_org"}, "rural": {"district_org"}, "district_social": {"district_org"},
    "city_social_unsupervised": {"city_org", "civil_affairs"},
    "city_social_supervised": {"city_org", "city_organs_committee"},
}
SPOT_CHECKERS = {"city_org", "united_front", "market_regulation", "commerce", "economy_it", "federation_commerce"}


@pytest.mark.parametrize("name", sorted(ENTITIES))
@pytest.mark.parametrize("kind", KINDS)
def test_who_may_check_what(name, kind):
    target = ENTITIES[name]
    accepted = checks.refusal(kind, target, "acceptance") is None
    assert accepted == (kind in ACCEPTANCE_BY[name])
    looked_back = checks.refusal(kind, target, "look_back") is None
    assert looked_back == (kind in ACCEPTANCE_BY[name] | {"city_org"})  # 督查核实: the city looks back anywhere
    spot = checks.refusal(kind, target, "spot_check") is None
    assert spot == (kind in SPOT_CHECKERS and name == "enterprise")


@given(st.sampled_from(KINDS), st.sampled_from(sorted(ENTITIES)), st.sampled_from(["acceptance", "look_back",
                                                                                   "spot_check"]))
def test_a_department_allowed_to_check_holds_the_permission(kind, name, check_kind):
    """The 归口 table never lets a department check without the permission the handler requires first."""
    if checks.refusal(kind, ENTITIES[name], check_kind) is None:
        assert checks.PERMISSION[check_kind] in PERMISSIONS[kind]


def test_a_refusal_names_the_responsible_departments():
    reason = checks.refusal("civil_affairs", ENTITIES["city_social_supervised"], "acceptance")
    assert "city_org、city_organs_committee" in reason and "R12" in reason
    assert "非公有制企业" in checks.refusal("city_org", ENTITIES["enterprise"], "acceptance")


@given(st.dates(min_value=date(2016, 11, 21), max_value=date(2016, 12, 5)))
def test_acceptance_and_spot_checks_share_the_window_and_the_look_back_follows(day):
    acceptance, look_back = (checks.check_window(CALENDAR, k) for k in ("acceptance", "look_back"))
    assert checks.check_window(CALENDAR, "spot_check").contains(day) and acceptance.contains(day)
    assert not look_back.contains(day)
    assert look_back.starts == acceptance.ends + timedelta(days=1)
