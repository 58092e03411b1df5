"""Report jumps against the formation events, and shadow patterns over the registry's keyed hashes."""

from datetime import date

import pytest
from hypothesis import given, strategies as st

from platform_core.reference import load_calendar

from reporting.domain.signals import fold
from reporting_scenario import Scenario
from signals_events import DISTRICT_A, DISTRICT_B, at, kinds, registered, reported

CALENDAR = load_calendar()
POLICY = CALENDAR.detectors
FIRST, SECOND = date(2016, 10, 10), date(2016, 10, 25)


def jump_case(previous: int, rise: int, formed_between: int):
    """A district whose baseline entities got ``previous`` organizations before the first report and
    ``formed_between`` between the two; its second report rises by ``rise``."""
    s = Scenario()
    entities = list(range(1, previous + formed_between + 1))
    for n in entities:
        s.register(n, formal=3)
    s.approve(f"street-{DISTRICT_A}001", entities)
    for n in entities[:previous]:
        s.form(n, "standalone", [n])
    s.report(1, f"district-{DISTRICT_A}", FIRST.isoformat(), {"organization_covered": previous}, at=at(FIRST))
    s.clock = at(date(2016, 10, 15))
    for n in entities[previous:]:
        s.form(n, "standalone", [n])
    s.report(2, f"district-{DISTRICT_A}", SECOND.isoformat(), {"organization_covered": previous + rise},
             at=at(SECOND))
    return [envelope for _, envelope in s.events]


def test_a_rise_the_events_do_not_show_is_a_jump_from_the_threshold():
    assert kinds(jump_case(10, POLICY.jump_min_figure - 1, 0), "report_jump") == []
    found = kinds(jump_case(10, POLICY.jump_min_figure, 0), "report_jump")
    assert len(found) == 1 and found[0].districts == (DISTRICT_A,) and len(found[0].event_ids) == 2
    assert "跳升" in found[0].explanation


def test_a_rise_the_events_show_is_not_a_jump():
    assert kinds(jump_case(10, 8, 8), "report_jump") == []
    assert kinds(jump_case(10, 12, 8), "report_jump") == []  # 4 more than the events: under the threshold


@given(st.integers(0, 400), st.integers(0, 60))
def test_the_share_threshold_scales_with_the_previous_figure(previous, excess):
    events = [reported(DISTRICT_A, FIRST, previous), reported(DISTRICT_A, SECOND, previous + excess)]
    flagged = bool(kinds(events, "report_jump"))
    assert flagged is (excess >= max(POLICY.jump_min_figure, POLICY.jump_min_share * previous))


def test_the_derived_figure_is_the_reporting_projections_own():
    """Entities covered by an organization but outside the baseline move no reported figure."""
    events = jump_case(10, 0, 0)
    derived = fold(events).derived
    assert derived == {(f"district-{DISTRICT_A}", FIRST): 10, (f"district-{DISTRICT_A}", SECOND): 10}


def test_units_other_than_districts_are_compared_too_and_concern_no_district():
    events = [e.model_copy(update={"payload": {**e.payload, "unit": "civil-affairs"}})
              for e in (reported(DISTRICT_A, FIRST, 0), reported(DISTRICT_A, SECOND, 50))]
    found = kinds(events, "report_jump")
    assert len(found) == 1 and found[0].districts == () and dict(found[0].detail)["unit"] == "civil-affairs"


@pytest.mark.parametrize("what", ["person", "address"])
def test_one_person_or_address_over_many_entities_of_a_district(what):
    most = POLICY.shadow_min_entities
    below = [registered(n, **{what: "a" * 64}) for n in range(most - 1)]
    assert kinds(below, "shadow_pattern") == []
    assert kinds(below + [registered(99, district=DISTRICT_B, **{what: "a" * 64})], "shadow_pattern") == []
    found = kinds(below + [registered(99, **{what: "a" * 64})], "shadow_pattern")
    assert len(found) == 1 and len(found[0].entity_ids) == most and found[0].districts == (DISTRICT_A,)


def test_hashes_under_different_keys_do_not_compare():
    events = [registered(n, person="b" * 64, hash_key=f"{n:016d}") for n in range(POLICY.shadow_min_entities)]
    assert kinds(events, "shadow_pattern") == []


def test_the_projection_keeps_every_event_the_derived_figures_need():
    """The signals projection keeps only READ_TYPES: the derived figures of the hand-computed scenario are the
    same from those as from every event."""
    from reporting.domain.signals.fold import READ_TYPES
    from reporting_scenario import campaign

    scenario = campaign()
    everything = [envelope for _, envelope in scenario.events]
    for unit, deadline in (("district-420102", "2016-09-10"), ("civil-affairs", "2016-09-25")):
        everything.append(reported(unit.removeprefix("district-"), date.fromisoformat(deadline), 0).model_copy(
            update={"payload": {"report_id": "report-x", "unit": unit, "deadline": deadline,
                                "figures": {"organization_covered": 0}}}))
    kept = [e for e in everything if e.type in READ_TYPES]
    assert fold(kept).derived == fold(everything).derived and any(fold(everything).derived.values())
