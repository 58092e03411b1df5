"""The simulator's reporting phases (pure): who reports when and how, the bulletins after each deadline,
the figures a report states, and the ground truth per reporting unit."""

from collections import Counter
from datetime import timedelta

from platform_core.reference import load_calendar, load_territory
from simulator.commands import fact
from simulator.plan import build_campaign
from simulator.reporting_plan import FALSE, INFLATED, LATE, MISSING, ON_TIME, REPORT_FIGURES, report_command
from simulator.truth import GroundTruth, reporting_unit

CITY = load_territory()
WITH_REPORTING = frozenset({"registry", "membership", "formation", "reporting"})


def campaign(seed=5, clock=True):
    return build_campaign(seed, 600, CITY, "t", available=WITH_REPORTING, simulated_clock=clock)


def test_every_unit_has_one_intent_per_deadline_and_the_mix_has_every_behaviour():
    plan = campaign().plan
    deadlines = load_calendar().report_deadlines()
    units = [f"district-{d.code}" for d in CITY.districts] + ["city-organs", "civil-affairs"]
    assert Counter((i.unit, i.deadline) for i in plan.reports) == Counter({(u, d): 1 for u in units for d in deadlines})
    behaviours = Counter(i.behaviour for i in plan.reports)
    assert set(behaviours) == {ON_TIME, LATE, MISSING, FALSE}
    assert behaviours[ON_TIME] > len(plan.reports) / 2


def test_when_each_report_is_sent_and_what_the_platform_must_judge_it():
    for intent in campaign(seed=9).plan.reports:
        if intent.behaviour in (ON_TIME, FALSE):
            assert intent.submit_on == intent.deadline and intent.expected_status == "on_time"
        elif intent.behaviour == LATE:
            assert 1 <= (intent.submit_on - intent.deadline).days <= 2 and intent.expected_status == "late"
        else:
            assert intent.submit_on is None and intent.expected_status == "missing"
        assert (intent.inflate > 0) == (intent.behaviour == FALSE)


def test_figures_are_taken_at_the_end_of_the_deadline_day_and_a_bulletin_follows_the_next_morning():
    plan = campaign().plan
    ordered = plan.ordered()
    for deadline in load_calendar().report_deadlines():
        snapshot = next(i for i, s in enumerate(ordered) if f"report_figures:{deadline}" in s.resolve)
        assert all(s.on > deadline for s in ordered[snapshot + 1:] if s.resolve != (f"reports_due:{deadline}",))
        bulletin = next(s for s in ordered if s.phase == "bulletins" and s.on == deadline + timedelta(days=1))
        assert bulletin.resolve == ("await_published",)
        assert bulletin.commands[0].body == {"cutoff_date": deadline.isoformat()}


def test_the_plan_is_a_function_of_the_seed():
    assert campaign(3).plan.reports == campaign(3).plan.reports
    assert campaign(3).plan.reports != campaign(4).plan.reports


def test_on_the_real_clock_reports_and_bulletins_are_left_out_saying_why():
    plan = campaign(clock=False).plan
    assert not plan.reports and {"reports", "bulletins"} <= set(plan.left_out)
    assert "CAMPAIGN_SIMULATED_CLOCK" in plan.left_out["reports"]


def test_a_report_states_the_true_figures_and_a_false_one_raises_only_the_inflated_ones():
    plan = campaign(seed=11).plan
    true = {name: 10 + n for n, name in enumerate(REPORT_FIGURES)}
    honest = next(i for i in plan.reports if i.behaviour == ON_TIME)
    false = next(i for i in plan.reports if i.behaviour == FALSE)
    assert report_command(honest, true).body["figures"] == true
    sent = report_command(false, true).body["figures"]
    assert {k: sent[k] - true[k] for k in true if sent[k] != true[k]} == {k: false.inflate for k in INFLATED}
    assert report_command(false, true).department == ("city_organs_committee" if false.unit == "city-organs" else
                                                      "civil_affairs" if false.unit == "civil-affairs" else
                                                      f"district_org:{false.unit.removeprefix('district-')}")


def test_the_ground_truth_per_reporting_unit_counts_the_baseline_of_each_unit():
    c = campaign()
    truth = GroundTruth({e.key: e for e in c.entities})
    keys = [e.key for e in c.entities]
    truth.apply(fact("registered", keys))
    for e in c.entities:
        truth.apply(fact("ledger_approved", [e.key], unit=e.ledger_unit))
    flagged = keys[0]
    truth.apply(fact("flagged", [flagged], flag="shell"))
    org_entity = c.entities[1]
    truth.apply(fact("org_formed", ["O1", org_entity.key], mode="standalone"))
    figures = truth.record_as_of("2016-09-10")
    assert sum(f["baseline"] for f in figures.values()) == len(keys) - 1
    # The survey's declared organizations count too, until an organization is formed (only O1 was).
    declared = [e for e in c.entities[2:] if e.party_organization != "none"]
    unit = reporting_unit(org_entity)
    assert figures[unit]["organization_covered"] == 1 + sum(reporting_unit(e) == unit for e in declared)
    assert figures[unit]["standalone_covered"] == 1 + sum(
        reporting_unit(e) == unit and e.party_organization == "standalone" for e in declared)
    assert sum(f["organization_covered"] for f in figures.values()) == 1 + len(declared)
    assert truth.as_of["2016-09-10"] is figures
    units = {reporting_unit(e) for e in c.entities}
    assert units <= {f"district-{d.code}" for d in CITY.districts} | {"city-organs", "civil-affairs"}
