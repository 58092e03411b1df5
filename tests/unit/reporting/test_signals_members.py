"""Borrowed members and same-day members (docs/detectors.md), each at its thresholds."""

from datetime import date, timedelta

import pytest

from platform_core.reference import load_calendar

from signals_events import ent, formed, member_found, org, registered, transferred, kinds

CALENDAR = load_calendar()
POLICY = CALENDAR.detectors
FORMED = date(2016, 10, 10)


def borrowed_case(days_before: int, days_after: int, own: int = 2):
    """Entity 1 has ``own`` members of its own; member 9 comes from entity 2 before formation and goes back."""
    events = [registered(1), registered(2)] + [member_found(m, 1) for m in range(own)] + [member_found(9, 2)]
    events += [transferred(9, 2, 1, FORMED - timedelta(days=days_before)),
               formed(1, [1], FORMED, formal={1: own + 1}),
               transferred(9, 1, 2, FORMED + timedelta(days=days_after))]
    return events


@pytest.mark.parametrize("before,after,flagged", [
    (POLICY.borrowed_in_days, POLICY.borrowed_out_days, True),
    (0, 0, True),
    (POLICY.borrowed_in_days + 1, 1, False),
    (1, POLICY.borrowed_out_days + 1, False),
])
def test_borrowed_member_at_the_windows(before, after, flagged):
    found = kinds(borrowed_case(before, after), "borrowed_members")
    assert bool(found) is flagged
    if flagged:
        signal = found[0]
        assert signal.entity_ids == (ent(1), ent(2)) and signal.organization_ids == (org(1),)
        assert len(signal.event_ids) == 3 and "借调" in signal.explanation
        assert dict(signal.thresholds)["borrowed_in_days"] == POLICY.borrowed_in_days


def test_a_member_who_was_not_needed_for_three_is_not_borrowed():
    assert kinds(borrowed_case(3, 3, own=3), "borrowed_members") == []


def test_a_member_who_stays_is_not_borrowed():
    events = borrowed_case(3, 3)[:-1]
    assert kinds(events, "borrowed_members") == []


def same_day_case(members: int, other_day: bool = False, one_found_here: bool = False):
    events = [registered(1), registered(2)]
    arrival = date(2016, 10, 1)
    for m in range(members):
        events.append(member_found(m, 2))
        if one_found_here and m == 0:
            events[-1] = member_found(m, 1)
            continue
        day = arrival + timedelta(days=1) if other_day and m == 0 else arrival
        events.append(transferred(m, 2, 1, day, minutes=m))
    events.append(formed(1, [1], FORMED, formal={1: members}))
    return events


def test_all_members_arriving_on_one_day_is_a_signal_from_the_threshold():
    assert kinds(same_day_case(POLICY.same_day_min_members - 1), "same_day_members") == []
    found = kinds(same_day_case(POLICY.same_day_min_members), "same_day_members")
    assert len(found) == 1 and found[0].organization_ids == (org(1),)
    assert "同一天" in found[0].explanation and len(found[0].event_ids) == 1 + POLICY.same_day_min_members


@pytest.mark.parametrize("case", [dict(other_day=True), dict(one_found_here=True)])
def test_members_of_two_days_or_found_there_are_not_a_signal(case):
    assert kinds(same_day_case(4, **case), "same_day_members") == []


def test_functional_organizations_are_left_out():
    events = same_day_case(4)[:-1] + [formed(1, [1], FORMED, mode="functional")]
    assert kinds(events, "same_day_members") == []
