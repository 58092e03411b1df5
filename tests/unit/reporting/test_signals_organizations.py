"""Paper organizations: formed in a rush and undone after the check; joint organizations far apart."""

from datetime import date, timedelta

import pytest

from platform_core.reference import load_calendar

from signals_events import DISTRICT_A, DISTRICT_B, checked, dissolved, formed, registered, restructured, kinds

CALENDAR = load_calendar()
POLICY = CALENDAR.detectors
DUE = CALENDAR.milestone("formation").due
CHECKED = date(2016, 11, 25)


def rush_case(days_before_due: int, days_after_check: int, undo=dissolved, passed: bool = True):
    return [registered(1), formed(1, [1], DUE - timedelta(days=days_before_due)),
            checked(1, [1], CHECKED, passed=passed), undo(1, [1], CHECKED + timedelta(days=days_after_check))]


@pytest.mark.parametrize("before,after,flagged", [
    (POLICY.late_formation_days, POLICY.undone_after_check_days, True),
    (0, 0, True),
    (POLICY.late_formation_days + 1, 1, False),
    (1, POLICY.undone_after_check_days + 1, False),
])
def test_rushed_organization_undone_after_its_check(before, after, flagged):
    found = kinds(rush_case(before, after), "late_paper_organization")
    assert bool(found) is flagged
    if flagged:
        assert len(found[0].event_ids) == 3 and "突击组建" in found[0].explanation


def test_restructured_after_its_check_counts_too_and_a_failed_check_does_not():
    assert kinds(rush_case(2, 5, undo=restructured), "late_paper_organization")
    assert kinds(rush_case(2, 5, passed=False), "late_paper_organization") == []


def joint(entities: list[tuple[int, str, str]]):
    events = [registered(n, district, street) for n, district, street in entities]
    return events + [formed(1, [n for n, _, _ in entities], date(2016, 10, 1), mode="joint")]


def test_joint_organization_over_more_streets_than_allowed():
    streets = [(n, DISTRICT_A, f"{DISTRICT_A}{n:03d}") for n in range(1, POLICY.joint_max_streets + 1)]
    assert kinds(joint(streets), "distant_joint") == []
    found = kinds(joint(streets + [(9, DISTRICT_A, f"{DISTRICT_A}009")]), "distant_joint")
    assert len(found) == 1 and "街道" in found[0].explanation


def test_joint_organization_across_districts_and_standalone_ones():
    found = kinds(joint([(1, DISTRICT_A, f"{DISTRICT_A}001"), (2, DISTRICT_B, f"{DISTRICT_B}001")]), "distant_joint")
    assert len(found) == 1 and found[0].districts == (DISTRICT_A, DISTRICT_B) and "2个区" in found[0].explanation
    standalone = [registered(1), formed(1, [1], date(2016, 10, 1))]
    assert kinds(standalone, "distant_joint") == []
