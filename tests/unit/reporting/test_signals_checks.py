"""Bulk checks (one checker, too many checks in an hour) and the check mismatch (binomial test)."""

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from platform_core.reference import load_calendar
from reporting.domain.signals.bulk_checks import bursts
from reporting.domain.signals.check_mismatch import binomial_tail
from reporting.domain.signals.records import Check

from signals_events import DISTRICT_A, at, checked, formed, registered, kinds

CALENDAR = load_calendar()
POLICY = CALENDAR.detectors
DAY = date(2016, 11, 22)


def checks_at(minutes: list[int], user: str = "checker"):
    events = []
    for n, minute in enumerate(minutes):
        events += [registered(n), formed(n, [n], date(2016, 10, 1)), checked(n, [n], DAY, minutes=minute, user=user)]
    return events


def test_one_check_more_than_the_window_allows_is_a_signal():
    most = POLICY.checks_max_per_window
    assert kinds(checks_at(list(range(most))), "bulk_checks") == []
    found = kinds(checks_at(list(range(most + 1))), "bulk_checks")
    assert len(found) == 1 and len(found[0].event_ids) == most + 1 and "checker" in found[0].explanation
    assert found[0].districts == (DISTRICT_A,)


def test_checks_spread_over_the_whole_window_are_not_a_signal():
    most, window = POLICY.checks_max_per_window, POLICY.checks_window_minutes
    spread = [round(i * window / most) for i in range(most + 1)]  # the last one a full window after the first
    assert kinds(checks_at(spread), "bulk_checks") == []


def test_two_checkers_are_counted_apart():
    half = POLICY.checks_max_per_window
    events = checks_at(list(range(half)), user="a") + [
        e for e in checks_at(list(range(half)), user="b") if e.type == "OrganizationChecked"]
    assert kinds(events, "bulk_checks") == []


def _check(minute: int) -> Check:
    return Check("organization-x", "acceptance", True, DAY, at(DAY, minute), "d/u", ("entity-x",), f"e{minute:05d}")


@given(st.lists(st.integers(0, 600), max_size=40).map(sorted))
def test_a_check_is_in_a_burst_exactly_when_some_window_ending_at_it_is_crowded(minutes):
    checks = [_check(m) for m in minutes]
    window, most = timedelta(minutes=POLICY.checks_window_minutes), POLICY.checks_max_per_window
    flagged = {c.event_id for burst in bursts(checks, window, most) for c in burst}
    for n, check in enumerate(checks):
        crowded_here = sum(1 for c in checks[:n + 1] if check.recorded_at - c.recorded_at < window) > most
        if crowded_here:
            assert check.event_id in flagged
    for burst in bursts(checks, window, most):
        assert len(burst) > most


def mismatch_case(accepted: int, accepted_failed: int, spot_passed: int, spot_failed: int):
    events, n = [], 0
    for passed, how_many, kind in ((True, accepted, "acceptance"), (False, accepted_failed, "acceptance"),
                                   (True, spot_passed, "spot_check"), (False, spot_failed, "spot_check")):
        for _ in range(how_many):
            n += 1
            events += [registered(n), formed(n, [n], date(2016, 10, 1)),
                       checked(n, [n], DAY, passed=passed, kind=kind, minutes=n * 90)]
    return events


@pytest.mark.parametrize("accepted,failed,spot_passed,spot_failed,flagged", [
    (50, 0, 0, 2, True),    # every check passed, both spot checks failed: chance ≈ (1/52)²
    (50, 0, 1, 1, False),   # one of two failed: chance ≈ 0.04
    (43, 7, 0, 2, False),   # a district that fails 14% of its checks may fail two spot checks by chance
    (50, 0, 0, 1, False),   # fewer spot checks than the threshold
])
def test_check_mismatch_against_chance(accepted, failed, spot_passed, spot_failed, flagged):
    found = kinds(mismatch_case(accepted, failed, spot_passed, spot_failed), "check_mismatch")
    assert bool(found) is flagged
    if flagged:
        assert found[0].districts == (DISTRICT_A,) and "随机抽查" in found[0].explanation


@given(st.integers(0, 20), st.integers(0, 20), st.floats(0.0, 1.0))
def test_binomial_tail_is_a_probability_growing_with_passes(passes, extra, rate):
    trials = passes + extra
    tail = binomial_tail(passes, trials, rate)
    assert -1e-9 <= tail <= 1 + 1e-9
    assert binomial_tail(trials, trials, rate) == pytest.approx(1.0)
    if passes:
        assert binomial_tail(passes - 1, trials, rate) <= tail + 1e-12
