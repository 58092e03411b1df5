"""Report jumps against the formation events, and shadow patterns over the registry's keyed hashes."""

from datetime import date

import pytest
from hypothesis import given, strategies as st

from platform_core.reference import load_calendar

from signals_events import DISTRICT_A, DISTRICT_B, formed, registered, reported, kinds

CALENDAR = load_calendar()
POLICY = CALENDAR.detectors
FIRST, SECOND = date(2016, 10, 10), date(2016, 10, 25)


def jump_case(previous: int, rise: int, formed_between: int):
    events = [registered(n) for n in range(previous + formed_between)]
    events += [formed(n, [n], date(2016, 9, 1)) for n in range(previous)]
    events += [formed(previous + n, [previous + n], date(2016, 10, 20)) for n in range(formed_between)]
    return events + [reported(DISTRICT_A, FIRST, previous), reported(DISTRICT_A, SECOND, previous + rise)]


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


def test_units_other_than_districts_are_left_out():
    events = [e.model_copy(update={"payload": {**e.payload, "unit": "civil-affairs"}})
              for e in (reported(DISTRICT_A, FIRST, 0), reported(DISTRICT_A, SECOND, 50))]
    assert kinds(events, "report_jump") == []


@pytest.mark.parametrize("what", ["person", "address"])
def test_one_person_or_address_over_many_entities(what):
    most = POLICY.shadow_min_entities
    below = [registered(n, **{what: "a" * 64}) for n in range(most - 1)]
    assert kinds(below, "shadow_pattern") == []
    found = kinds(below + [registered(99, district=DISTRICT_B, **{what: "a" * 64})], "shadow_pattern")
    assert len(found) == 1 and len(found[0].entity_ids) == most and found[0].districts == (DISTRICT_A, DISTRICT_B)


def test_hashes_under_different_keys_do_not_compare():
    events = [registered(n, person="b" * 64, hash_key=f"{n:016d}") for n in range(POLICY.shadow_min_entities)]
    assert kinds(events, "shadow_pattern") == []
