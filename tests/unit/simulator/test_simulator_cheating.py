"""The simulator's cheating mode (pure): every pattern planted in the chosen districts, only there, with its
ground truth; honest checks paced like real visits; nothing changes without the mode."""

from collections import Counter, defaultdict

import pytest

from platform_core.reference import load_territory
from simulator import cheating
from simulator.plan import build_campaign

CITY = load_territory()
ALL = frozenset({"registry", "membership", "formation", "reporting"})
DISTRICTS = ("420104", "420111", "420115", "420192")


@pytest.fixture(scope="module")
def campaign():
    return build_campaign(2016, 3000, CITY, "unit-test", available=ALL, cheat_districts=DISTRICTS)


def test_every_pattern_is_planted_in_the_cheating_districts_only(campaign):
    planted = campaign.plan.cheating.planted
    assert set(Counter(p.kind for p in planted)) == {
        cheating.BORROWED, cheating.LATE, cheating.SAME_DAY, cheating.DISTANT, cheating.BULK, cheating.JUMP,
        cheating.SHADOW}  # the check mismatch is planted once the city's sample is known (the runner)
    assert {p.district for p in planted} == set(DISTRICTS)
    for case in planted:
        assert all(campaign.entity(k).district_code == case.district for k in case.entities)


def test_the_plan_without_the_mode_has_no_cheating_and_paces_its_checks_like_visits():
    honest = build_campaign(2016, 600, CITY, "unit-test", available=ALL)
    commands = [c for s in honest.plan.steps for c in s.commands]
    assert honest.plan.cheating is None
    assert not any(s.label.startswith("cheating:") for s in honest.plan.steps)
    # only checks name a checker and an hour: a few a checker a day, hours apart (never a rush)
    assert not any(c.user or c.minute is not None for c in commands if not c.path.endswith("/checks"))
    per_checker = defaultdict(list)
    for step in honest.plan.steps:
        for command in step.commands:
            if command.path.endswith("/checks"):
                assert command.user.startswith("checker-") and command.minute is not None
                per_checker[(step.on, command.department, command.user)].append(command.minute)
    assert per_checker
    for minutes in per_checker.values():
        assert sorted(minutes) == [n * cheating.VISIT_MINUTES for n in range(len(minutes))]
        assert len(minutes) <= cheating.CHECKS_PER_CHECKER


def test_checks_are_paced_like_visits_except_the_rush(campaign):
    per_checker = defaultdict(list)
    for step in campaign.plan.steps:
        for command in step.commands:
            if command.path.endswith("/checks"):
                assert command.user is not None and command.minute is not None
                per_checker[(step.on, command.department, command.user)].append(command.minute)
    rushes = {k: v for k, v in per_checker.items() if k[2] == cheating.RUSH_CHECKER}
    assert {k[1] for k in rushes} == {f"district_org:{d}" for d in DISTRICTS}
    for (day, _, user), minutes in per_checker.items():
        if user == cheating.RUSH_CHECKER:
            assert day == cheating.RUSH_DAY and len(minutes) == cheating.RUSH_CHECKS
            assert max(minutes) - min(minutes) < 60
        else:
            assert len(minutes) <= cheating.CHECKS_PER_CHECKER
            assert sorted(minutes) == [n * cheating.VISIT_MINUTES for n in range(len(minutes))]


def test_a_cheating_district_never_fails_an_acceptance_check_and_fails_its_spot_checks(campaign):
    for step in campaign.plan.steps:
        for command in step.commands:
            if command.path.endswith("/checks") and command.body["check_kind"] == "acceptance":
                district = command.department.partition(":")[2]
                assert command.body["passed"] or district not in DISTRICTS
    assert cheating.spot_result(campaign.plan.cheating, DISTRICTS[0], 0)["passed"] is False
    assert cheating.spot_result(campaign.plan.cheating, "420102", 0)["passed"] is True
    assert cheating.spot_result(None, "420102", 5) == {"passed": True, "findings": [], "user": "checker-2",
                                                       "minute": cheating.VISIT_MINUTES}
    planted = cheating.Cheating(DISTRICTS, 1)
    cheating.cheating_mismatches(planted, {"O1": DISTRICTS[0], "O2": DISTRICTS[0], "O3": DISTRICTS[1],
                                           "O4": "420102", "O5": "420102"})
    assert [(p.kind, p.district, p.organizations) for p in planted.planted] == [
        (cheating.MISMATCH, DISTRICTS[0], ("O1", "O2"))]


def test_moved_members_are_moved_by_nothing_else(campaign):
    moved = Counter()
    for step in campaign.plan.steps:
        for command in step.commands:
            if step.label.startswith("cheating: a borrowed") or step.label.startswith("cheating: members arrive"):
                moved[command.path.split("/")[2]] += 1
    others = Counter(c.path.split("/")[2] for s in campaign.plan.steps for c in s.commands
                     if c.path.startswith("/members/@") and not s.label.startswith("cheating:"))
    assert moved and not set(moved) & set(others)
    assert all(n in (1, 2) for n in moved.values())


def test_the_ground_truth_names_platform_ids_and_leaves_out_what_was_never_created(campaign):
    case = next(p for p in campaign.plan.cheating.planted if p.kind == cheating.BORROWED)
    ids = {k: f"id-{k}" for k in (*case.entities, *case.organizations)}
    resolved = [r for r in campaign.plan.cheating.resolved(ids) if r["kind"] == cheating.BORROWED]
    assert resolved == [{"kind": cheating.BORROWED, "district": case.district,
                         "entity_ids": sorted(ids[k] for k in case.entities),
                         "organization_ids": [ids[case.organizations[0]]]}]


def test_the_jump_is_on_time_and_raised_by_a_tenth_of_the_district(campaign):
    jumps = [i for i in campaign.plan.reports if i.deadline == cheating.JUMP_DEADLINE
             and i.unit.removeprefix("district-") in DISTRICTS]
    assert len(jumps) == len(DISTRICTS)
    assert all(i.behaviour == "false" and i.submit_on == i.deadline and i.inflate >= 10 for i in jumps)
