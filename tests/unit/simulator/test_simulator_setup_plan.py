"""The simulator's setup milestones (pure): deterministic for a seed, one zone per district, most milestones on
time, three late and one missing; the ground truth judges them as docs/rules.md R10b says, and a district an
earlier run set up is left out."""

from collections import Counter
from datetime import date

from platform_core.reference import load_calendar, load_territory
from simulator.plan import build_campaign
from simulator.setup_plan import PHASE, drop_districts
from simulator.truth import GroundTruth

CITY = load_territory()
ALL = frozenset({"registry", "membership", "formation"})
CALENDAR = load_calendar()
DUE = {m.key: (m.scope, m.due.isoformat()) for m in CALENDAR.setup_milestones}


def _setup(campaign):
    return [(s, c) for s in campaign.plan.ordered() if s.phase == PHASE for c in s.commands]


def test_every_district_sets_up_most_on_time_three_late_one_missing():
    campaign = build_campaign(2016, 300, CITY, "t", available=ALL)
    commands = _setup(campaign)
    assert commands == _setup(build_campaign(2016, 300, CITY, "t", available=ALL))
    districts = {d.code for d in CITY.districts}
    zones = [c for _, c in commands if c.path == "/milestones/zones"]
    assert sorted(c.body["district_code"] for c in zones) == sorted(districts)
    for step, command in commands:  # each record is sent on the day it was done, never before its zone
        if command.path == "/milestones":
            assert command.body["done_on"] == step.on.isoformat()
            assert step.on > date(2016, 9, 1) or "zone_id" not in command.body
    truth = GroundTruth({})
    for _, command in commands:
        for item in command.facts:
            truth.apply(item)
    states = truth.milestone_states(DUE, CALENDAR.ends.isoformat())
    assert len(states) == 5 * len(districts)
    counts = Counter(states.values())
    assert counts == {"on_time": 5 * len(districts) - 4, "late": 3, "missing": 1}
    assert [key for key, state in states.items() if state == "missing"][0][2] == "task_force"
    early = truth.milestone_states(DUE, "2016-08-17")
    assert Counter(early.values())["missing"] == 0  # due today and not yet done: not yet missing


def test_districts_an_earlier_run_set_up_are_left_out():
    campaign = build_campaign(2016, 300, CITY, "t", available=ALL)
    drop_districts(campaign.plan, {"420102", "420103"})
    departments = {c.department for _, c in _setup(campaign)}
    assert "district_org:420102" not in departments and "district_org:420104" in departments
    assert campaign.plan.command_count == sum(len(s.commands) for s in campaign.plan.steps)
